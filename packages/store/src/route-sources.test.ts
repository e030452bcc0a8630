import {
  aBinding,
  aBridgeTask,
  aContainer,
  aContainerDefinition,
  aContainerInstance,
  aPortMapping,
  aTask,
  aTaskDefinition,
  containerInstanceEvent,
  T0,
  taskArn,
  taskDefinitionArn,
  taskDefinitionEvent,
  taskEvent,
} from '@ecs-ingress/testkit';
import type { ClusterEvent, TaskDefinitionView } from '@ecs-ingress/types';
import { describe, expect, it } from 'vitest';
import { createUpstreamDeriver, deriveUpstreams } from './derive-upstreams.js';
import { reduceAll } from './reducer.js';
import { hasRouteLabels, portUpstreamName } from './route-sources.js';
import { emptyState } from './state.js';

function revision(
  n: number,
  labels: Record<string, string>,
  networkMode: TaskDefinitionView['networkMode'] = 'awsvpc',
) {
  return aTaskDefinition({
    taskDefinitionArn: taskDefinitionArn('web', n),
    revision: n,
    networkMode,
    containers: [
      aContainerDefinition({
        dockerLabels: labels,
        portMappings: [aPortMapping({ containerPort: 8080 }), aPortMapping({ containerPort: 9000 })],
      }),
    ],
  });
}

const v1 = revision(1, { 'ecs-ingress.http.hosts': 'v1.example.com' });
const v2 = revision(2, { 'ecs-ingress.http.hosts': 'v2.example.com' });

function derive(events: ClusterEvent[]) {
  return deriveUpstreams(reduceAll(emptyState(), events).state);
}

function task(id: string, td: TaskDefinitionView, ip: string, createdAt?: number) {
  return aTask({
    taskArn: taskArn(id),
    taskDefinitionArn: td.taskDefinitionArn,
    eniPrivateIpv4Address: ip,
    ...(createdAt === undefined ? {} : { createdAt }),
  });
}

describe('route sources: the labels of the newest admitted task', () => {
  it('takes the newest task by createdAt, whatever the revision (a rollback is a newer deployment)', () => {
    const derivation = derive([
      taskDefinitionEvent(v1),
      taskDefinitionEvent(v2),
      taskEvent(task('1', v2, '192.0.2.1', T0)),
      taskEvent(task('2', v1, '192.0.2.2', T0 + 60_000)),
    ]);
    expect(derivation.routeSources).toHaveLength(1);
    expect(derivation.routeSources[0]).toMatchObject({
      service: 'web',
      taskDefinitionArn: v1.taskDefinitionArn,
    });
    // The labels object is the task definition's own (memos key on it).
    expect(derivation.routeSources[0]?.labels).toBe(v1.containers[0]?.dockerLabels);
  });

  it('without createdAt, the higher revision, then the task ARN', () => {
    const derivation = derive([
      taskDefinitionEvent(v1),
      taskDefinitionEvent(v2),
      taskEvent(task('1', v2, '192.0.2.1')),
      taskEvent(task('2', v1, '192.0.2.2')),
    ]);
    expect(derivation.routeSources[0]?.taskDefinitionArn).toBe(v2.taskDefinitionArn);
  });

  it('ignores tasks that are not admitted: a newer revision counts from its first admitted task', () => {
    const derivation = derive([
      taskDefinitionEvent(v1),
      taskDefinitionEvent(v2),
      taskEvent(task('1', v1, '192.0.2.1', T0)),
      taskEvent(aTask({ ...task('2', v2, '192.0.2.2', T0 + 1000), lastStatus: 'PENDING' })),
    ]);
    expect(derivation.routeSources[0]?.taskDefinitionArn).toBe(v1.taskDefinitionArn);
  });

  it('a service without route labels, or without admitted tasks, has no source', () => {
    const plain = revision(3, { 'ecs-ingress.port': '8080' });
    expect(
      derive([taskDefinitionEvent(plain), taskEvent(task('1', plain, '192.0.2.1'))]).routeSources,
    ).toEqual([]);
    expect(
      derive([
        taskDefinitionEvent(v1),
        taskEvent(aTask({ ...task('1', v1, '192.0.2.1'), desiredStatus: 'STOPPED' })),
      ]).routeSources,
    ).toEqual([]);
    expect(hasRouteLabels({ 'ecs-ingress.tcp.pg.listen': '5432' })).toBe(true);
    expect(hasRouteLabels({ 'ecs-ingress.container': 'app', 'other.http.hosts': 'x' })).toBe(false);
  });

  it('keeps the same source object while the service is unchanged', () => {
    const deriver = createUpstreamDeriver();
    const state = reduceAll(emptyState(), [
      taskDefinitionEvent(v1),
      taskEvent(task('1', v1, '192.0.2.1')),
    ]).state;
    const first = deriver(state).routeSources[0];
    expect(deriver(state).routeSources[0]).toBe(first);
  });
});

describe('port routes: an upstream <service>.port-<n> from the same tasks', () => {
  const ported = revision(4, {
    'ecs-ingress.http.hosts': 'web.example.com',
    'ecs-ingress.http.admin.hosts': 'admin.example.com',
    'ecs-ingress.http.admin.port': '9000',
    // An invalid route's port makes no upstream.
    'ecs-ingress.http.bad.port': '9100',
    'ecs-ingress.http.bad.snippet': 'x',
  });

  it('awsvpc: the ENI address at the route port', () => {
    const derivation = derive([
      taskDefinitionEvent(ported),
      taskEvent(task('1', ported, '192.0.2.1')),
      taskEvent(task('2', ported, '192.0.2.2')),
    ]);
    expect(derivation.upstreams.map((u) => u.name)).toEqual(['web', 'web.port-9000']);
    const port = derivation.upstreams.find((u) => u.name === portUpstreamName('web', 9000));
    expect(port?.servers.map((s) => `${s.address}:${s.port}`)).toEqual(['192.0.2.1:9000', '192.0.2.2:9000']);
    const own = derivation.upstreams.find((u) => u.name === 'web');
    expect(own?.servers.map((s) => `${s.address}:${s.port}`)).toEqual(['192.0.2.1:8080', '192.0.2.2:8080']);
  });

  it('bridge: the host port bound to the route port; a task without that binding is left out', () => {
    const bridge = { ...revision(5, ported.containers[0]?.dockerLabels ?? {}, 'bridge') };
    const instance = aContainerInstance({ privateIpAddress: '192.0.2.9' });
    const bound = aBridgeTask({
      taskArn: taskArn('1'),
      taskDefinitionArn: bridge.taskDefinitionArn,
      containers: [
        aContainer({
          networkBindings: [
            aBinding({ containerPort: 8080, hostPort: 32768 }),
            aBinding({ containerPort: 9000, hostPort: 32769 }),
          ],
        }),
      ],
    });
    const unbound = aBridgeTask({
      taskArn: taskArn('2'),
      taskDefinitionArn: bridge.taskDefinitionArn,
      containers: [aContainer({ networkBindings: [aBinding({ containerPort: 8080, hostPort: 32770 })] })],
    });
    const derivation = derive([
      taskDefinitionEvent(bridge),
      containerInstanceEvent(instance),
      taskEvent(bound),
      taskEvent(unbound),
    ]);
    const port = derivation.upstreams.find((u) => u.name === 'web.port-9000');
    expect(port?.servers.map((s) => `${s.address}:${s.port}`)).toEqual(['192.0.2.9:32769']);
    expect(derivation.upstreams.find((u) => u.name === 'web')?.servers).toHaveLength(2);
  });
});
