/**
 * References on demand: a real store and derivation, the shared resolver on the real SDK against
 * the wire fake. A task that would route but for what the store lacks gets exactly that fetched.
 */
import type { ECSClient, Task } from '@aws-sdk/client-ecs';
import type { ClusterState } from '@ecs-ingress/store';
import { ClusterStore, deriveUpstreams } from '@ecs-ingress/store';
import {
  type AwsFake,
  buildAwsvpcTask,
  buildBridgeTask,
  buildTaskDefinition,
  containerInstanceArnFor,
  taskDefinitionArnFor,
} from '@ecs-ingress/testkit/aws';
import { parseDescribedTask } from '@ecs-ingress/types';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type FakeAws, recordObservations, useAwsFake } from '../test/helpers.js';
import { EcsReferenceResolver } from './ecs-references.js';
import { ReferenceWatcher } from './reference-watcher.js';

/** Bounded polling: 200 rounds of 50 ms, then the test fails. */
const WAIT = { timeout: 10_000, interval: 50 };

let fake: AwsFake;
let ecs: ECSClient;
let ec2: FakeAws['ec2'];
const stops: (() => Promise<void>)[] = [];

useAwsFake(
  (aws) => {
    ({ fake, ecs, ec2 } = aws);
  },
  { maxAttempts: 1, cluster: 'prod' },
);
afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
});

function setup(transientBackoffMs = 1_000) {
  const store = new ClusterStore();
  const { hook, seen } = recordObservations();
  const references = new EcsReferenceResolver({
    ecs,
    ec2,
    cluster: 'prod',
    sink: store,
    observe: hook,
    negativeCache: { transient: { initialMs: transientBackoffMs, maxMs: transientBackoffMs * 8 } },
  });
  const calls: Record<string, number>[] = [];
  const watcher = new ReferenceWatcher<ClusterState>({
    state$: store.state$,
    missing: (state) => deriveUpstreams(state),
    references,
    onCalls: (c) => calls.push({ ...c }),
  });
  watcher.start();
  stops.push(() => watcher.stop());
  const event = (task: Task) =>
    store.dispatch({ kind: 'task', task: parseDescribedTask(task, Date.now(), 'event') });
  const servers = () =>
    deriveUpstreams(store.snapshot()).upstreams.flatMap((u) =>
      u.servers.map((s) => `${s.address}:${s.port}`),
    );
  return { store, watcher, event, servers, calls, seen };
}

describe('ReferenceWatcher', () => {
  it('fetches a new revision once for all its tasks, and the tasks route', async () => {
    const { event, servers, calls, seen } = setup();
    const td = fake.ecs.putTaskDefinition(
      buildTaskDefinition({
        family: 'web',
        revision: 2,
        networkMode: 'awsvpc',
        containers: [{ name: 'app', containerPort: 8080 }],
      }),
    );
    for (const ip of ['127.0.0.11', '127.0.0.12', '127.0.0.13', '127.0.0.14']) {
      event(buildAwsvpcTask({ cluster: 'prod', ip, taskDefinitionArn: td.taskDefinitionArn! }));
    }
    await vi.waitFor(() => expect(servers().length === 4, 'the new revision to route').toBe(true), WAIT);
    expect(servers().sort()).toEqual([
      '127.0.0.11:8080',
      '127.0.0.12:8080',
      '127.0.0.13:8080',
      '127.0.0.14:8080',
    ]);
    expect(fake.calls('ecs', 'DescribeTaskDefinition')).toBe(1);
    expect(calls).toEqual([{ 'ecs:DescribeTaskDefinition': 1 }]);
    // What was fetched is recorded like any observation.
    expect(seen.map((o) => o.kind)).toEqual(['Task Definition']);
  });

  it('resolves a container instance added mid-run (and the EC2 address behind it) for a bridge task', async () => {
    const { store, event, servers } = setup();
    const td = fake.ecs.putTaskDefinition(
      buildTaskDefinition({
        family: 'api',
        networkMode: 'bridge',
        containers: [{ name: 'app', containerPort: 80 }],
      }),
    );
    const ci = containerInstanceArnFor('prod', 'scaled-out');
    fake.ecs.putContainerInstance(ci, 'i-0000000000000abcd', { cluster: 'prod' });
    fake.ec2.putInstance('i-0000000000000abcd', '127.0.0.21');
    event(
      buildBridgeTask({
        cluster: 'prod',
        containerInstanceArn: ci,
        hostPort: 31000,
        taskDefinitionArn: td.taskDefinitionArn!,
      }),
    );
    await vi.waitFor(() => expect(servers().length === 1, 'the bridge task to route').toBe(true), WAIT);
    expect(servers()).toEqual(['127.0.0.21:31000']);
    expect(fake.calls('ecs', 'DescribeContainerInstances')).toBe(1);
    expect(fake.calls('ec2', 'DescribeInstances')).toBe(1);
    expect(store.snapshot().containerInstances.size).toBe(1);
  });

  it('asks once for a revision ECS refuses, however many events name it', async () => {
    const { event, store } = setup();
    const ghost = taskDefinitionArnFor('ghost', 3);
    for (let i = 0; i < 20; i++) {
      event(buildAwsvpcTask({ cluster: 'prod', ip: `127.0.1.${i + 1}`, taskDefinitionArn: ghost }));
      await new Promise((r) => setTimeout(r, 5));
    }
    await vi.waitFor(
      () => expect(fake.calls('ecs', 'DescribeTaskDefinition') >= 1, 'the lookup').toBe(true),
      WAIT,
    );
    await new Promise((r) => setTimeout(r, 100));
    expect(fake.calls('ecs', 'DescribeTaskDefinition')).toBe(1);
    expect(deriveUpstreams(store.snapshot()).missingTaskDefinitions).toEqual([ghost]);
  });

  it('retries by itself once the backoff after a throttled lookup ends (no further event needed)', async () => {
    const { event, servers } = setup(100);
    const td = fake.ecs.putTaskDefinition(
      buildTaskDefinition({
        family: 'web',
        revision: 5,
        networkMode: 'awsvpc',
        containers: [{ name: 'app', containerPort: 8080 }],
      }),
    );
    fake.inject({ service: 'ecs', operation: 'DescribeTaskDefinition', kind: 'throttle', times: 1 });
    event(buildAwsvpcTask({ cluster: 'prod', ip: '127.0.0.41', taskDefinitionArn: td.taskDefinitionArn! }));
    await vi.waitFor(
      () => expect(servers().length === 1, 'the retried lookup to route the task').toBe(true),
      WAIT,
    );
    expect(fake.requests('ecs', 'DescribeTaskDefinition').map((c) => c.fault ?? 'ok')).toEqual([
      'throttle',
      'ok',
    ]);
  });
});
