/**
 * Builds the demo scenario (fixtures/demo-scenario.jsonl) in the recorded-events format: EventBridge
 * `ECS Task State Change` events as an SQS body carries them, plus ecs-ingress observation lines
 * (task definitions, the initial cluster snapshot). The file is committed; this is how it was made,
 * and a test checks that the two still agree. Regenerate with
 * `node --conditions=source --import tsx packages/controller/src/demo/scenario-builder.ts > packages/controller/fixtures/demo-scenario.jsonl`.
 *
 * Addresses are awsvpc placeholders from 192.0.2.0/24, documentation only (192.0.2.1x for web, 192.0.2.2x for api,
 * .31 web-canary, .41 web-preview; container ports 8080 and 9000); the demo maps them onto loopback
 * backends it starts, and the tcp route's listen placeholder onto its stream port (demo/scenario.ts).
 *
 * Every service publishes its routes through docker labels (web: /web, api: /api and a tcp route;
 * web-canary takes 20 % of /web; web-preview claims /web too and is reported as a conflict).
 *
 * Story (~30 s): web, a canary of web and a conflicting preview, then api start; web scales out; a rolling deployment replaces web's tasks with
 * revision 2; an api task fails (essential container exit code 1); an api task on Fargate Spot is
 * interrupted (desiredStatus STOPPED first, while still RUNNING). A few events are delivered twice,
 * and one arrives late and out of order, as EventBridge may: the store drops them.
 */
import { formatObservationLine } from '@ecs-ingress/types';

const REGION = 'eu-west-1';
const ACCOUNT = '123456789012';
export const DEMO_CLUSTER_ARN = `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/demo`;
const T0 = Date.parse('2025-01-15T10:00:00.000Z');

interface TaskDef {
  family: string;
  revision: number;
  port: number;
  /** Docker labels of the container: the routes it publishes (docs/routes.md). */
  labels: Record<string, string>;
}

/**
 * The host names every demo route answers to: `curl 127.0.0.1:8080/web/` and
 * `curl localhost:8080/web/` both work, with no Host header to set.
 */
const DEMO_HOSTS = '127.0.0.1 localhost';
/**
 * The tcp route's `listen` label in the scenario: the demo rewrites it to the stream port it binds
 * (like the placeholder addresses and container ports, see demo/scenario.ts).
 */
export const DEMO_STREAM_PORT_PLACEHOLDER = '15432';

interface DemoTask {
  id: string;
  service: string;
  def: TaskDef;
  ip: string;
  capacityProvider: 'FARGATE' | 'FARGATE_SPOT';
  createdAt: number;
}

type Status = 'PROVISIONING' | 'PENDING' | 'ACTIVATING' | 'RUNNING' | 'DEACTIVATING' | 'STOPPING' | 'STOPPED';

interface Change {
  lastStatus: Status;
  desiredStatus: 'RUNNING' | 'STOPPED';
  version: number;
  stopCode?: string;
  stoppedReason?: string;
  exitCode?: number;
}

const defArn = (d: TaskDef) => `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/${d.family}:${d.revision}`;
const taskArn = (t: DemoTask) => `arn:aws:ecs:${REGION}:${ACCOUNT}:task/demo/${t.id}`;
const iso = (sec: number) => new Date(T0 + Math.round(sec * 1000)).toISOString();

function taskDefinitionLine(d: TaskDef, atSec: number): string {
  return formatObservationLine(
    'Task Definition',
    {
      taskDefinitionArn: defArn(d),
      family: d.family,
      revision: d.revision,
      networkMode: 'awsvpc',
      status: 'ACTIVE',
      requiresCompatibilities: ['FARGATE'],
      cpu: '256',
      memory: '512',
      containerDefinitions: [
        {
          name: d.family,
          image: `public.ecr.aws/demo/${d.family}:${d.revision}`,
          essential: true,
          portMappings: [{ containerPort: d.port, protocol: 'tcp' }],
          dockerLabels: d.labels,
        },
      ],
    },
    T0 + atSec * 1000,
  );
}

let eventSeq = 0;

function taskEventLine(t: DemoTask, c: Change, atSec: number): string {
  eventSeq += 1;
  const running = ['RUNNING', 'DEACTIVATING', 'STOPPING', 'STOPPED'].includes(c.lastStatus);
  const container: Record<string, unknown> = {
    containerArn: `arn:aws:ecs:${REGION}:${ACCOUNT}:container/demo/${t.id}/${t.def.family}`,
    name: t.def.family,
    lastStatus: c.lastStatus === 'STOPPED' ? 'STOPPED' : running ? 'RUNNING' : 'PENDING',
    taskArn: taskArn(t),
    networkInterfaces: [{ attachmentId: `eni-attach-${t.id.slice(0, 8)}`, privateIpv4Address: t.ip }],
  };
  if (c.exitCode !== undefined) container.exitCode = c.exitCode;
  const detail: Record<string, unknown> = {
    attachments: [
      {
        id: `eni-attach-${t.id.slice(0, 8)}`,
        type: 'eni',
        status: c.lastStatus === 'STOPPED' ? 'DELETED' : 'ATTACHED',
        details: [
          { name: 'subnetId', value: 'subnet-0demo' },
          { name: 'networkInterfaceId', value: `eni-${t.id.slice(0, 12)}` },
          { name: 'privateIPv4Address', value: t.ip },
        ],
      },
    ],
    availabilityZone: `${REGION}a`,
    capacityProviderName: t.capacityProvider,
    clusterArn: DEMO_CLUSTER_ARN,
    connectivity: 'CONNECTED',
    containers: [container],
    cpu: '256',
    createdAt: iso(t.createdAt),
    desiredStatus: c.desiredStatus,
    group: `service:${t.service}`,
    launchType: 'FARGATE',
    lastStatus: c.lastStatus,
    memory: '512',
    platformVersion: '1.4.0',
    startedBy: `ecs-svc/${t.service}`,
    taskArn: taskArn(t),
    taskDefinitionArn: defArn(t.def),
    updatedAt: iso(atSec),
    version: c.version,
  };
  if (c.stopCode !== undefined) detail.stopCode = c.stopCode;
  if (c.stoppedReason !== undefined) detail.stoppedReason = c.stoppedReason;
  return JSON.stringify({
    version: '0',
    id: `00000000-demo-4000-8000-${String(eventSeq).padStart(12, '0')}`,
    'detail-type': 'ECS Task State Change',
    source: 'aws.ecs',
    account: ACCOUNT,
    time: iso(atSec),
    region: REGION,
    resources: [taskArn(t)],
    detail,
  });
}

/** The scenario, one JSONL line per element (no trailing newlines). */
export function buildDemoScenario(): string[] {
  eventSeq = 0;
  // Every service publishes itself through labels; the demo's nginx.conf has no route of its own.
  const webLabels = { 'ecs-ingress.http.hosts': DEMO_HOSTS, 'ecs-ingress.http.path': '/web' };
  const web1: TaskDef = { family: 'web', revision: 1, port: 8080, labels: webLabels };
  const web2: TaskDef = { family: 'web', revision: 2, port: 8080, labels: webLabels };
  const api: TaskDef = {
    family: 'api',
    revision: 3,
    port: 9000,
    labels: {
      'ecs-ingress.http.hosts': DEMO_HOSTS,
      'ecs-ingress.http.path': '/api',
      'ecs-ingress.tcp.raw.listen': DEMO_STREAM_PORT_PLACEHOLDER,
    },
  };
  // A canary of web's route: 20 % of /web goes to it.
  const canary: TaskDef = {
    family: 'web-canary',
    revision: 1,
    port: 8080,
    labels: { ...webLabels, 'ecs-ingress.http.canary-weight': '20' },
  };
  // A younger service claiming web's host and path: a conflict, reported and not rendered (web
  // keeps /web; seniority goes by name while ECS createdAt is not known, and web is older).
  const preview: TaskDef = { family: 'web-preview', revision: 1, port: 8080, labels: webLabels };
  const task = (
    id: string,
    service: string,
    def: TaskDef,
    ip: string,
    createdAt: number,
    capacityProvider: DemoTask['capacityProvider'] = 'FARGATE',
  ): DemoTask => ({ id, service, def, ip, createdAt, capacityProvider });

  const webA = task('0a1b2c3d4e5f40718293a4b5c6d7e8f9', 'web', web1, '192.0.2.11', 1);
  const webB = task('1b2c3d4e5f60718293a4b5c6d7e8f90a', 'web', web1, '192.0.2.12', 1);
  const webC = task('2c3d4e5f6071829304b5c6d7e8f90a1b', 'web', web1, '192.0.2.13', 8);
  const webD = task('3d4e5f607182930415c6d7e8f90a1b2c', 'web', web2, '192.0.2.14', 11);
  const webE = task('4e5f60718293041526d7e8f90a1b2c3d', 'web', web2, '192.0.2.15', 11);
  const webF = task('5f6071829304152637e8f90a1b2c3d4e', 'web', web2, '192.0.2.16', 14.5);
  const apiA = task('6071829304152637480f90a1b2c3d4e5', 'api', api, '192.0.2.21', 3, 'FARGATE_SPOT');
  const apiB = task('71829304152637485910a1b2c3d4e5f6', 'api', api, '192.0.2.22', 3);
  const apiC = task('8293041526374859601a1b2c3d4e5f60', 'api', api, '192.0.2.23', 21.5);
  const apiD = task('93041526374859607a2b1c3d4e5f6071', 'api', api, '192.0.2.24', 26, 'FARGATE_SPOT');
  const canaryA = task('a041526374859607182b3c4d5e6f7081', 'web-canary', canary, '192.0.2.31', 1.5);
  const previewA = task('b1526374859607182930c4d5e6f70812', 'web-preview', preview, '192.0.2.41', 1.6);

  const pending: Change = { lastStatus: 'PENDING', desiredStatus: 'RUNNING', version: 1 };
  const activating: Change = { lastStatus: 'ACTIVATING', desiredStatus: 'RUNNING', version: 2 };
  const running: Change = { lastStatus: 'RUNNING', desiredStatus: 'RUNNING', version: 3 };
  const draining: Change = {
    lastStatus: 'RUNNING',
    desiredStatus: 'STOPPED',
    version: 4,
    stopCode: 'ServiceSchedulerInitiated',
    stoppedReason: 'Scaling activity initiated by (deployment ecs-svc/web)',
  };
  const stopped = (from: Change): Change => ({
    ...from,
    lastStatus: 'STOPPED',
    desiredStatus: 'STOPPED',
    version: 6,
  });

  const lines: string[] = [
    taskDefinitionLine(web1, 0),
    taskDefinitionLine(api, 0),
    taskDefinitionLine(canary, 0),
    taskDefinitionLine(preview, 0),
    formatObservationLine(
      'Cluster Snapshot',
      {
        clusterArn: DEMO_CLUSTER_ARN,
        startedAt: iso(0),
        tasks: [],
        services: ['api', 'web', 'web-canary', 'web-preview'],
      },
      T0,
    ),
    // web and api start
    taskEventLine(webA, pending, 1),
    taskEventLine(webB, pending, 1.2),
    // a canary of web's route (20 % of /web) and a younger service claiming web's /web start with it
    taskEventLine(canaryA, pending, 1.5),
    taskEventLine(previewA, pending, 1.6),
    taskEventLine(webA, running, 2.5),
    taskEventLine(webB, running, 2.7),
    taskEventLine(canaryA, running, 2.8),
    taskEventLine(previewA, running, 2.9),
    taskEventLine(apiA, pending, 3),
    taskEventLine(apiB, pending, 3.1),
    // PENDING → ACTIVATING renders the same: no reload
    taskEventLine(apiA, activating, 4),
    taskEventLine(apiB, activating, 4.1),
    taskEventLine(apiA, running, 5),
    taskEventLine(apiB, running, 5.2),
    // delivered twice
    taskEventLine(webA, running, 2.5),
    // web scales out
    taskEventLine(webC, pending, 8),
    taskEventLine(webC, running, 9.5),
    // rolling deployment to web:2: new tasks first, then the old ones drain and stop
    taskDefinitionLine(web2, 10.5),
    taskEventLine(webD, pending, 11),
    taskEventLine(webE, pending, 11.1),
    taskEventLine(webD, running, 12.5),
    taskEventLine(webE, running, 12.7),
    taskEventLine(webA, draining, 13.5),
    taskEventLine(webB, draining, 13.6),
    taskEventLine(webF, pending, 14.5),
    taskEventLine(webA, { ...draining, lastStatus: 'STOPPING', version: 5 }, 15),
    taskEventLine(webA, stopped(draining), 15.5),
    taskEventLine(webB, stopped(draining), 15.6),
    taskEventLine(webF, running, 16),
    taskEventLine(webC, draining, 16.5),
    // a late, out-of-order copy of web A's RUNNING event: stale, A stays gone
    taskEventLine(webA, running, 2.5),
    taskEventLine(webC, stopped(draining), 18),
    // an api task fails: its essential container exits with code 1
    taskEventLine(
      apiB,
      {
        lastStatus: 'STOPPING',
        desiredStatus: 'STOPPED',
        version: 4,
        stopCode: 'EssentialContainerExited',
        stoppedReason: 'Essential container in task exited',
        exitCode: 1,
      },
      20,
    ),
    taskEventLine(
      apiB,
      {
        lastStatus: 'STOPPED',
        desiredStatus: 'STOPPED',
        version: 6,
        stopCode: 'EssentialContainerExited',
        stoppedReason: 'Essential container in task exited',
        exitCode: 1,
      },
      21,
    ),
    taskEventLine(apiC, pending, 21.5),
    taskEventLine(apiC, running, 23),
    // Fargate Spot interruption: desiredStatus STOPPED while the task still runs (2 minutes' warning)
    taskEventLine(
      apiA,
      {
        lastStatus: 'RUNNING',
        desiredStatus: 'STOPPED',
        version: 4,
        stopCode: 'SpotInterruption',
        stoppedReason: 'Your Spot Task was interrupted.',
      },
      25,
    ),
    taskEventLine(apiD, pending, 26),
    taskEventLine(apiD, running, 27.5),
    taskEventLine(apiD, running, 27.5),
    taskEventLine(
      apiA,
      {
        lastStatus: 'STOPPED',
        desiredStatus: 'STOPPED',
        version: 6,
        stopCode: 'SpotInterruption',
        stoppedReason: 'Your Spot Task was interrupted.',
        exitCode: 143,
      },
      29,
    ),
  ];
  return lines;
}

/** Final admitted tasks per service, for tests: web D, E, F, api C, D, and one each of the others. */
export const DEMO_FINAL_IPS: Readonly<Record<string, readonly string[]>> = {
  api: ['192.0.2.23', '192.0.2.24'],
  web: ['192.0.2.14', '192.0.2.15', '192.0.2.16'],
  'web-canary': ['192.0.2.31'],
  'web-preview': ['192.0.2.41'],
};

if (import.meta.url === `file://${process.argv[1]}`) {
  process.stdout.write(`${buildDemoScenario().join('\n')}\n`);
}
