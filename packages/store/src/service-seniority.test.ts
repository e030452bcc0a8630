/**
 * Service seniority (issue 16): a `service` observation (DescribeServices) gives a service its ECS
 * `createdAt`; the store keeps it on the service, the derivation hands it to the route source and
 * names the exposed services still without one (`missingServices`), and only those.
 */
import {
  aContainerDefinition,
  aPortMapping,
  aTask,
  aTaskDefinition,
  clusterArn,
  serviceEvent,
  servicesEvent,
  snapshotEvent,
  T0,
  taskArn,
  taskDefinitionArn,
  taskDefinitionEvent,
  taskEvent,
} from '@ecs-ingress/testkit';
import type { ClusterEvent } from '@ecs-ingress/types';
import { describe, expect, it } from 'vitest';
import { createUpstreamDeriver, deriveUpstreams } from './derive-upstreams.js';
import { reduce, reduceAll } from './reducer.js';
import { emptyState, serviceKey } from './state.js';

const exposed = aTaskDefinition({
  taskDefinitionArn: taskDefinitionArn('shop', 1),
  family: 'shop',
  containers: [
    aContainerDefinition({
      dockerLabels: { 'ecs-ingress.http.hosts': 'shop.example.com' },
      portMappings: [aPortMapping({ containerPort: 8080 })],
    }),
  ],
});
const plain = aTaskDefinition({ taskDefinitionArn: taskDefinitionArn('plain', 1), family: 'plain' });

function task(id: string, service: string, arn: string) {
  return aTask({
    taskArn: taskArn(id),
    group: `service:${service}`,
    taskDefinitionArn: arn,
    eniPrivateIpv4Address: '192.0.2.10',
  });
}

const base: ClusterEvent[] = [
  taskDefinitionEvent(exposed),
  taskDefinitionEvent(plain),
  taskEvent(task('1', 'shop', exposed.taskDefinitionArn)),
  taskEvent(task('2', 'plain', plain.taskDefinitionArn)),
];

function serviceOf(events: ClusterEvent[], name: string) {
  const state = reduceAll(emptyState(), events).state;
  const index = state.serviceIndex.get(serviceKey(clusterArn(), name));
  return index === undefined ? undefined : state.services[index];
}

describe('the service observation in the reducer', () => {
  it('records createdAt on the service; the same answer again is a duplicate', () => {
    const state = reduceAll(emptyState(), base).state;
    const first = reduce(state, serviceEvent('shop', T0 - 86_400_000));
    expect(first.outcome).toBe('applied');
    expect(first.changed).toBe(true);
    const again = reduce(first.state, serviceEvent('shop', T0 - 86_400_000, undefined, T0 + 5));
    expect(again.outcome).toBe('duplicate');
    expect(again.changed).toBe(false);
    expect(serviceOf([...base, serviceEvent('shop', 42)], 'shop')?.createdAt).toBe(42);
  });

  it('a service created again under its name (a new createdAt) replaces the age held', () => {
    expect(serviceOf([...base, serviceEvent('shop', 1), serviceEvent('shop', 2)], 'shop')?.createdAt).toBe(2);
  });

  it('before any task, it makes the service known and listed (DescribeServices proves it exists)', () => {
    const service = serviceOf([serviceEvent('early', 7)], 'early');
    expect(service).toMatchObject({ name: 'early', listed: true, forgotten: false, createdAt: 7 });
  });

  it('refuses malformed observations', () => {
    const bad = {
      ...serviceEvent('shop', 1),
      service: { ...serviceEvent('shop', 1).service, createdAt: Number.NaN },
    };
    expect(reduce(emptyState(), bad).outcome).toBe('invalid');
    expect(reduce(emptyState(), { ...serviceEvent('shop', 1), observedAt: Number.NaN }).outcome).toBe(
      'invalid',
    );
  });

  it('a listing without the service and no task left drops its age (deleted); a live task keeps it', () => {
    const aged = reduceAll(emptyState(), [...base, serviceEvent('shop', 5), serviceEvent('gone', 6)]).state;
    const after = reduce(aged, snapshotEvent({ startedAt: T0 + 1000, tasks: [], services: ['plain'] })).state;
    const at = (name: string) =>
      after.services[after.serviceIndex.get(serviceKey(clusterArn(), name)) as number];
    expect(at('gone')?.createdAt).toBeUndefined();
    // shop's task was observed before the listing began and is absent: buried, so its age goes too.
    expect(at('shop')?.tasks.size).toBe(0);
    expect(at('shop')?.createdAt).toBeUndefined();
    const lagging = reduce(aged, snapshotEvent({ startedAt: T0 - 1, tasks: [], services: ['plain'] })).state;
    // The task was observed after this listing began: it stays, and so does the age.
    const shop = lagging.services[lagging.serviceIndex.get(serviceKey(clusterArn(), 'shop')) as number];
    expect(shop?.tasks.size).toBe(1);
    expect(shop?.createdAt).toBe(5);
  });
});

describe('seniority in the derivation', () => {
  it('names only exposed services without an age as missing; the route source carries the age', () => {
    const before = deriveUpstreams(reduceAll(emptyState(), base).state);
    expect(before.missingServices).toEqual(['shop']);
    expect(before.routeSources[0]?.createdAt).toBeUndefined();
    const after = deriveUpstreams(reduceAll(emptyState(), [...base, serviceEvent('shop', 1234)]).state);
    expect(after.missingServices).toEqual([]);
    expect(after.routeSources[0]).toMatchObject({ service: 'shop', createdAt: 1234 });
    // An age of an unexposed service is kept but asked for by no one.
    const plainAge = deriveUpstreams(reduceAll(emptyState(), [...base, serviceEvent('plain', 1)]).state);
    expect(plainAge.missingServices).toEqual(['shop']);
  });

  it('the age arriving re-derives that service only (a new source object), the others keep theirs', () => {
    const deriver = createUpstreamDeriver();
    const other = aTaskDefinition({
      ...exposed,
      taskDefinitionArn: taskDefinitionArn('blog', 1),
      family: 'blog',
    });
    const events = [
      ...base,
      taskDefinitionEvent(other),
      taskEvent(task('3', 'blog', other.taskDefinitionArn)),
    ];
    const s1 = reduceAll(emptyState(), [...events, servicesEvent(['shop', 'blog', 'plain'])]).state;
    const d1 = deriver(s1);
    const s2 = reduce(s1, serviceEvent('shop', 99)).state;
    const d2 = deriver(s2);
    const find = (d: typeof d1, name: string) => d.routeSources.find((r) => r.service === name);
    expect(find(d2, 'shop')).not.toBe(find(d1, 'shop'));
    expect(find(d2, 'shop')?.createdAt).toBe(99);
    expect(find(d2, 'blog')).toBe(find(d1, 'blog'));
  });

  it('gives the same ages in any event order', () => {
    const events = [...base, serviceEvent('shop', 10), servicesEvent(['shop'])];
    const forward = deriveUpstreams(reduceAll(emptyState(), events).state);
    const backward = deriveUpstreams(reduceAll(emptyState(), [...events].reverse()).state);
    expect(backward.routeSources).toEqual(forward.routeSources);
    expect(forward.routeSources[0]?.createdAt).toBe(10);
  });
});
