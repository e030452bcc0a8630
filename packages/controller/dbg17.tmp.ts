import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { startAwsFake, startS3Fake } from './src/test-support/aws-fake/index.js';
import { seedBridgeCluster, startSimDaemon } from './src/test-support/fleet-sim.js';
const aws = await startAwsFake();
const s3 = await startS3Fake();
const admin = new S3Client({ ...s3.clientConfig(), maxAttempts: 1 });
await admin.send(new CreateBucketCommand({ Bucket: 'shared' }));
seedBridgeCluster(aws, { cluster: 'fleet', tasks: Number(process.env.T ?? 10000), services: 1000, instances: 50 });
const t0 = Date.now();
const ds = Array.from({ length: Number(process.env.D ?? 20) }, (_, i) => startSimDaemon({ id: `i-${i}`, aws, s3, location: { bucket: 'shared', prefix: 'p/' }, cluster: 'fleet', timing: { syncIntervalMs: 4000, renewIntervalMs: 120, leaseMs: 1200, maxSnapshotAgeMs: 20000 } }));
const iv = setInterval(() => {
  const roles = ds.map((d) => d.fleet.status().role[0]).join('');
  const c = aws.callCounts();
  console.log(Date.now() - t0, roles, ds.map((d) => d.store.snapshot().tasks.size).join(','), JSON.stringify(c), JSON.stringify(s3.callCounts()));
}, 1000);
await Promise.all(ds.map((d) => d.supervisor.firstSync));
console.log('all first sync', Date.now() - t0);
clearInterval(iv);
process.exit(0);
