import {
  aBinding,
  aBridgeTask,
  aContainer,
  aContainerDefinition,
  aContainerInstance,
  aDescribedTask,
  aPortMapping,
  aTask,
  aTaskDefinition,
  clusterArn,
  containerInstanceArn,
  containerInstanceEvent,
  servicesEvent,
  T0,
  taskArn,
  taskDefinitionArn,
  taskDefinitionEvent,
  taskEvent,
} from '@ecs-ingress/testkit';
import type { ClusterEvent, TaskDefinitionView, TaskSnapshot } from '@ecs-ingress/types';
import { isBackendIpv4 } from '@ecs-ingress/types';
import { describe, expect, it } from 'vitest';
import { type DeriveOptions, deriveUpstreams, matchesClusterFilter } from './derive-upstreams.js';
import { reduceAll } from './reducer.js';
import { emptyState } from './state.js';

const withHealthCheck = aTaskDefinition({ containers: [aContainerDefinition({ hasHealthCheck: true })] });
const bridgeDefinition = aTaskDefinition({
  networkMode: 'bridge',
  containers: [aContainerDefinition({ portMappings: [aPortMapping({ hostPort: 0 })] })],
});
const hostDefinition = aTaskDefinition({ networkMode: 'host' });

function derive(events: ClusterEvent[], options?: DeriveOptions) {
  return deriveUpstreams(reduceAll(emptyState(), events).state, options);
}

/** The verdict for the default task (`taskArn('1')`) given a task definition and the task. */
function verdict(
  taskDefinition: TaskDefinitionView | undefined,
  task: TaskSnapshot,
  extra: ClusterEvent[] = [],
) {
  const events: ClusterEvent[] = [...extra, taskEvent(task)];
  if (taskDefinition !== undefined) events.unshift(taskDefinitionEvent(taskDefinition));
  const derivation = derive(events);
  return { derivation, admission: derivation.admissions.get(task.taskArn)! };
}

describe('deriveUpstreams: admission by status and health', () => {
  it.each<{ name: string; td: TaskDefinitionView; task: TaskSnapshot; reason: string }>([
    {
      name: 'RUNNING/RUNNING without health check',
      td: aTaskDefinition(),
      task: aTask(),
      reason: 'admitted',
    },
    {
      name: 'PENDING with an IP',
      td: aTaskDefinition(),
      task: aTask({ lastStatus: 'PENDING', version: 2 }),
      reason: 'not-running',
    },
    {
      name: 'ACTIVATING',
      td: aTaskDefinition(),
      task: aTask({ lastStatus: 'ACTIVATING' }),
      reason: 'not-running',
    },
    {
      name: 'DEACTIVATING with desired STOPPED',
      td: aTaskDefinition(),
      task: aTask({ lastStatus: 'DEACTIVATING', desiredStatus: 'STOPPED' }),
      reason: 'desired-stopped',
    },
    {
      name: 'RUNNING with desired STOPPED (draining, e.g. Spot interruption)',
      td: aTaskDefinition(),
      task: aTask({ desiredStatus: 'STOPPED' }),
      reason: 'desired-stopped',
    },
    {
      name: 'PENDING with desired RUNNING and a health check',
      td: withHealthCheck,
      task: aTask({ lastStatus: 'PENDING' }),
      reason: 'not-running',
    },
    {
      name: 'health check, no description yet',
      td: withHealthCheck,
      task: aTask(),
      reason: 'awaiting-health',
    },
    {
      name: 'health check, described UNKNOWN',
      td: withHealthCheck,
      task: aDescribedTask({ healthStatus: 'UNKNOWN' }),
      reason: 'awaiting-health',
    },
    {
      name: 'health check, described HEALTHY',
      td: withHealthCheck,
      task: aDescribedTask({ healthStatus: 'HEALTHY' }),
      reason: 'admitted',
    },
    {
      name: 'health check, routed container HEALTHY, task UNKNOWN',
      td: withHealthCheck,
      task: aDescribedTask({
        healthStatus: 'UNKNOWN',
        containers: [aContainer({ healthStatus: 'HEALTHY' })],
      }),
      reason: 'admitted',
    },
    {
      name: 'health check, described UNHEALTHY',
      td: withHealthCheck,
      task: aDescribedTask({ healthStatus: 'UNHEALTHY' }),
      reason: 'unhealthy',
    },
    {
      name: 'health check, task HEALTHY but routed container UNHEALTHY',
      td: withHealthCheck,
      task: aDescribedTask({
        healthStatus: 'HEALTHY',
        containers: [aContainer({ healthStatus: 'UNHEALTHY' })],
      }),
      reason: 'unhealthy',
    },
    {
      name: 'health check, HEALTHY from an event (not trusted)',
      td: withHealthCheck,
      task: aTask({ healthStatus: 'HEALTHY' }),
      reason: 'awaiting-health',
    },
    {
      name: 'no health check, described UNKNOWN',
      td: aTaskDefinition(),
      task: aDescribedTask({ healthStatus: 'UNKNOWN' }),
      reason: 'admitted',
    },
    {
      name: 'no health check, described UNHEALTHY (nothing to trust it against)',
      td: aTaskDefinition(),
      task: aDescribedTask({ healthStatus: 'UNHEALTHY' }),
      reason: 'admitted',
    },
    {
      name: 'standalone task',
      td: aTaskDefinition(),
      task: aTask({ group: 'family:batch' }),
      reason: 'not-a-service',
    },
    {
      name: 'task without group',
      td: aTaskDefinition(),
      task: aTask({ group: undefined }),
      reason: 'not-a-service',
    },
  ])('$name → $reason', ({ td, task, reason }) => {
    const { derivation, admission } = verdict(td, task);
    expect(admission.reason).toBe(reason);
    expect(admission.admitted).toBe(reason === 'admitted');
    const servers = derivation.upstreams.find((u) => u.name === 'web')?.servers ?? [];
    expect(servers.length).toBe(reason === 'admitted' ? 1 : 0);
    expect(derivation.awaitingHealth.includes(task.taskArn)).toBe(
      reason === 'awaiting-health' || reason === 'unhealthy',
    );
  });

  it('health arrives by a later description at the same version', () => {
    const events: ClusterEvent[] = [taskDefinitionEvent(withHealthCheck), taskEvent(aTask({ version: 3 }))];
    expect(derive(events).admissions.get(taskArn('1'))?.reason).toBe('awaiting-health');
    events.push(taskEvent(aDescribedTask({ version: 3, healthStatus: 'HEALTHY' })));
    expect(derive(events).admissions.get(taskArn('1'))?.reason).toBe('admitted');
    // and stays admitted when a later event (no health) moves the version on
    events.push(taskEvent(aTask({ version: 4 })));
    expect(derive(events).admissions.get(taskArn('1'))?.reason).toBe('admitted');
  });

  it('re-derives a cached verdict when the task definition or container instance arrives later', () => {
    const first = reduceAll(emptyState(), [taskEvent(aBridgeTask())]).state;
    expect(deriveUpstreams(first).admissions.get(taskArn('1'))?.reason).toBe('no-task-definition');
    const second = reduceAll(first, [taskDefinitionEvent(bridgeDefinition)]).state;
    expect(deriveUpstreams(second).admissions.get(taskArn('1'))?.reason).toBe('no-container-instance');
    const third = reduceAll(second, [containerInstanceEvent()]).state;
    expect(deriveUpstreams(third).admissions.get(taskArn('1'))?.reason).toBe('admitted');
    // the earlier state still derives as before
    expect(deriveUpstreams(first).admissions.get(taskArn('1'))?.reason).toBe('no-task-definition');
  });

  it('an unknown task definition → no-task-definition, unresolved, listed for the poller', () => {
    const { derivation, admission } = verdict(undefined, aTask());
    expect(admission.reason).toBe('no-task-definition');
    expect(derivation.unresolved).toEqual([taskArn('1')]);
    expect(derivation.missingTaskDefinitions).toEqual([taskDefinitionArn()]);
  });
});

describe('deriveUpstreams: address and port by network mode', () => {
  it('awsvpc: the ENI address and the task definition container port', () => {
    const { admission } = verdict(aTaskDefinition(), aTask({ launchType: 'EC2' }));
    expect(admission.endpoint).toEqual({ address: '10.0.1.10', port: 8080, taskArn: taskArn('1') });
  });

  it('awsvpc: falls back to the container privateIpv4Address', () => {
    const task = aTask({
      eniPrivateIpv4Address: undefined,
      containers: [aContainer({ privateIpv4Address: '192.0.2.77' })],
    });
    expect(verdict(aTaskDefinition(), task).admission.endpoint?.address).toBe('192.0.2.77');
  });

  it('awsvpc: without any address → no-address', () => {
    expect(verdict(aTaskDefinition(), aTask({ eniPrivateIpv4Address: undefined })).admission.reason).toBe(
      'no-address',
    );
  });

  it('awsvpc is used even for a task whose launch type says EC2 with a container instance', () => {
    const task = aTask({ launchType: 'EC2', containerInstanceArn: containerInstanceArn('a') });
    expect(verdict(aTaskDefinition(), task).admission.endpoint?.address).toBe('10.0.1.10');
  });

  it('bridge: the container instance IP and the binding hostPort', () => {
    const { admission } = verdict(bridgeDefinition, aBridgeTask(), [containerInstanceEvent()]);
    expect(admission.endpoint).toEqual({ address: '10.0.2.20', port: 32768, taskArn: taskArn('1') });
  });

  it('bridge: a static hostPort from the task definition when the task reports no binding', () => {
    const td = aTaskDefinition({
      networkMode: 'bridge',
      containers: [aContainerDefinition({ portMappings: [aPortMapping({ hostPort: 8081 })] })],
    });
    const task = aBridgeTask({ containers: [aContainer()] });
    expect(verdict(td, task, [containerInstanceEvent()]).admission.endpoint?.port).toBe(8081);
  });

  it('bridge: a dynamic port without a binding → no-port', () => {
    const task = aBridgeTask({ containers: [aContainer()] });
    expect(verdict(bridgeDefinition, task, [containerInstanceEvent()]).admission.reason).toBe('no-port');
  });

  it('bridge: ignores a UDP binding of the same port', () => {
    const task = aBridgeTask({
      containers: [
        aContainer({ networkBindings: [aBinding({ protocol: 'udp', hostPort: 40000 }), aBinding()] }),
      ],
    });
    expect(verdict(bridgeDefinition, task, [containerInstanceEvent()]).admission.endpoint?.port).toBe(32768);
  });

  it('host: the container instance IP and hostPort = containerPort', () => {
    const task = aBridgeTask({ containers: [aContainer()] });
    const { admission } = verdict(hostDefinition, task, [containerInstanceEvent()]);
    expect(admission.endpoint).toEqual({ address: '10.0.2.20', port: 8080, taskArn: taskArn('1') });
  });

  it.each([
    { name: 'no container instance ARN', task: aBridgeTask({ containerInstanceArn: undefined }), extra: [] },
    { name: 'container instance not in the store', task: aBridgeTask(), extra: [] },
  ])('bridge: $name → no-container-instance', ({ task, extra }) => {
    const { derivation, admission } = verdict(bridgeDefinition, task, extra);
    expect(admission.reason).toBe('no-container-instance');
    expect(derivation.unresolved).toEqual([task.taskArn]);
  });

  it('lists missing container instances for the poller', () => {
    expect(verdict(bridgeDefinition, aBridgeTask()).derivation.missingContainerInstances).toEqual([
      containerInstanceArn('a'),
    ]);
  });

  it('bridge: container instance without IP → no-address', () => {
    const { admission } = verdict(bridgeDefinition, aBridgeTask(), [
      containerInstanceEvent(aContainerInstance({ privateIpAddress: undefined })),
    ]);
    expect(admission.reason).toBe('no-address');
  });

  it('network mode none → network-mode-none', () => {
    expect(verdict(aTaskDefinition({ networkMode: 'none' }), aTask()).admission.reason).toBe(
      'network-mode-none',
    );
  });
});

describe('deriveUpstreams: invalid addresses', () => {
  it.each([
    '10.0.1',
    '10.0.1.256',
    '010.0.1.1',
    '10.0.1.1 ',
    'fe80::1',
    '0.0.0.0',
    'localhost',
    '1.2.3.4.5',
    '1..2.3',
  ])('awsvpc %j → invalid-address', (address) => {
    const { derivation, admission } = verdict(aTaskDefinition(), aTask({ eniPrivateIpv4Address: address }));
    expect(admission.reason).toBe('invalid-address');
    expect(derivation.unresolved).toEqual([taskArn('1')]);
  });

  it('bridge: an invalid container instance IP → invalid-address', () => {
    const { admission } = verdict(bridgeDefinition, aBridgeTask(), [
      containerInstanceEvent(aContainerInstance({ privateIpAddress: '999.1.1.1' })),
    ]);
    expect(admission.reason).toBe('invalid-address');
  });

  it.each(['0.0.0.1', '10.0.0.1', '192.168.255.255', '255.255.255.255'])('accepts %s', (address) => {
    expect(isBackendIpv4(address)).toBe(true);
  });
});

describe('deriveUpstreams: which container and port', () => {
  const sidecar = aContainerDefinition({
    name: 'envoy',
    portMappings: [aPortMapping({ containerPort: 9901 })],
  });
  const app = aContainerDefinition({
    name: 'app',
    portMappings: [
      aPortMapping({ containerPort: 3000, protocol: 'udp' }),
      aPortMapping({ containerPort: 3001 }),
    ],
  });
  const noPorts = aContainerDefinition({ name: 'init', portMappings: [] });

  it.each<{ name: string; containers: TaskDefinitionView['containers']; port?: number; reason: string }>([
    {
      name: 'first container with a TCP mapping',
      containers: [noPorts, sidecar, app],
      port: 9901,
      reason: 'admitted',
    },
    { name: 'skips UDP mappings', containers: [noPorts, app], port: 3001, reason: 'admitted' },
    { name: 'no TCP mapping at all', containers: [noPorts], reason: 'no-port' },
    {
      name: 'ecs-ingress.port on a container',
      containers: [sidecar, { ...app, dockerLabels: { 'ecs-ingress.port': '4000' } }],
      port: 4000,
      reason: 'admitted',
    },
    {
      name: 'ecs-ingress.container pointing at another container',
      containers: [{ ...sidecar, dockerLabels: { 'ecs-ingress.container': 'app' } }, app],
      port: 3001,
      reason: 'admitted',
    },
    {
      name: 'ecs-ingress.container and ecs-ingress.port together',
      containers: [
        { ...sidecar, dockerLabels: { 'ecs-ingress.container': 'app', 'ecs-ingress.port': '3002' } },
        app,
      ],
      port: 3002,
      reason: 'admitted',
    },
    {
      name: 'ecs-ingress.container pointing at a missing container',
      containers: [{ ...sidecar, dockerLabels: { 'ecs-ingress.container': 'nope' } }, app],
      reason: 'unknown-container',
    },
    {
      name: 'ecs-ingress.port not a number',
      containers: [{ ...app, dockerLabels: { 'ecs-ingress.port': 'http' } }],
      reason: 'invalid-port-label',
    },
    {
      name: 'ecs-ingress.port out of range',
      containers: [{ ...app, dockerLabels: { 'ecs-ingress.port': '65536' } }],
      reason: 'invalid-port-label',
    },
    {
      name: 'ecs-ingress.port zero',
      containers: [{ ...app, dockerLabels: { 'ecs-ingress.port': '0' } }],
      reason: 'invalid-port-label',
    },
    {
      name: 'ecs-ingress.port with a sign',
      containers: [{ ...app, dockerLabels: { 'ecs-ingress.port': '+80' } }],
      reason: 'invalid-port-label',
    },
    {
      name: 'ecs-ingress.port empty',
      containers: [{ ...app, dockerLabels: { 'ecs-ingress.port': '' } }],
      reason: 'invalid-port-label',
    },
  ])('awsvpc: $name → $reason', ({ containers, port, reason }) => {
    const { derivation, admission } = verdict(aTaskDefinition({ containers }), aTask());
    expect(admission.reason).toBe(reason);
    expect(admission.endpoint?.port).toBe(port);
    expect(derivation.unresolved.length).toBe(reason === 'admitted' ? 0 : 1);
  });

  it('bridge multi-container: the binding of the chosen container and port', () => {
    const td = aTaskDefinition({
      networkMode: 'bridge',
      containers: [
        sidecar,
        {
          ...app,
          dockerLabels: { 'ecs-ingress.port': '3001' },
          portMappings: [aPortMapping({ containerPort: 3001 })],
        },
      ],
    });
    const task = aBridgeTask({
      containers: [
        aContainer({ name: 'envoy', networkBindings: [aBinding({ containerPort: 9901, hostPort: 32001 })] }),
        aContainer({
          name: 'app',
          networkBindings: [
            aBinding({ containerPort: 3001, hostPort: 32002 }),
            aBinding({ containerPort: 3001, hostPort: 32002, bindIP: '::' }),
          ],
        }),
      ],
    });
    expect(verdict(td, task, [containerInstanceEvent()]).admission.endpoint?.port).toBe(32002);
  });

  it('health of the routed container decides in a multi-container task', () => {
    const td = aTaskDefinition({
      containers: [
        sidecar,
        { ...app, hasHealthCheck: true, dockerLabels: { 'ecs-ingress.container': 'app' } },
      ],
    });
    const task = aDescribedTask({
      healthStatus: 'UNKNOWN',
      containers: [aContainer({ name: 'envoy' }), aContainer({ name: 'app', healthStatus: 'HEALTHY' })],
    });
    expect(verdict(td, task).admission.reason).toBe('admitted');
  });
});

describe('deriveUpstreams: upstreams', () => {
  it('one upstream per known service, with an empty server list when nothing is admitted', () => {
    const d = derive([
      servicesEvent(['idle']),
      taskDefinitionEvent(),
      taskEvent(aTask()),
      taskEvent(aTask({ taskArn: taskArn('9'), group: 'service:gone', version: 5, lastStatus: 'STOPPED' })),
    ]);
    expect(d.upstreams.map((u) => [u.name, u.servers.length])).toEqual([
      ['gone', 0],
      ['idle', 0],
      ['web', 1],
    ]);
  });

  it('servers sorted numerically by address, then port; duplicates removed', () => {
    const ips = ['10.0.1.100', '10.0.1.9', '9.0.0.1', '10.0.1.9'];
    const d = derive([
      taskDefinitionEvent(),
      ...ips.map((ip, i) => taskEvent(aTask({ taskArn: taskArn(String(i)), eniPrivateIpv4Address: ip }))),
    ]);
    expect(d.upstreams[0]!.servers.map((s) => s.address)).toEqual(['9.0.0.1', '10.0.1.9', '10.0.1.100']);
  });

  it('standalone tasks are ignored, or routed under their family when asked', () => {
    const events = [taskDefinitionEvent(), taskEvent(aTask({ group: 'family:batch' }))];
    expect(derive(events).upstreams).toEqual([]);
    const d = derive(events, { includeStandaloneTasks: true });
    expect(d.upstreams.map((u) => [u.name, u.servers.length])).toEqual([['batch', 1]]);
  });

  it('several clusters: all by default, one with the clusterArn filter (ARN or name)', () => {
    const other = clusterArn('other');
    const events: ClusterEvent[] = [
      taskDefinitionEvent(),
      taskEvent(aTask()),
      taskEvent(
        aTask({
          taskArn: taskArn('2', 'other'),
          clusterArn: other,
          group: 'service:api',
          eniPrivateIpv4Address: '10.9.0.1',
        }),
      ),
      taskEvent(
        aTask({ taskArn: taskArn('3', 'other'), clusterArn: other, eniPrivateIpv4Address: '10.9.0.2' }),
      ),
    ];
    const all = derive(events);
    expect(all.upstreams.map((u) => [u.name, u.servers.length])).toEqual([
      ['api', 1],
      ['web', 2],
    ]);
    const only = derive(events, { clusterArn: other });
    expect(only.upstreams.map((u) => [u.name, u.servers.map((s) => s.address)])).toEqual([
      ['api', ['10.9.0.1']],
      ['web', ['10.9.0.2']],
    ]);
    expect(only.admissions.has(taskArn('1'))).toBe(false);
    expect(derive(events, { clusterArn: 'default' }).upstreams.map((u) => u.name)).toEqual(['web']);
  });

  it.each([
    [clusterArn('a'), 'a', true],
    [clusterArn('a'), clusterArn('a'), true],
    [clusterArn('ab'), 'b', false],
    [clusterArn('a'), clusterArn('b'), false],
  ])('matchesClusterFilter(%s, %s) = %s', (arn, filter, expected) => {
    expect(matchesClusterFilter(arn, filter)).toBe(expected);
  });

  it('is deterministic: equal states give equal derivations', () => {
    const events: ClusterEvent[] = [
      taskDefinitionEvent(),
      ...Array.from({ length: 50 }, (_, i) =>
        taskEvent(
          aTask({ taskArn: taskArn(String(i)), eniPrivateIpv4Address: `10.0.${i}.1`, observedAt: T0 + i }),
        ),
      ),
    ];
    expect(derive(events)).toEqual(derive([...events].reverse()));
  });
});
