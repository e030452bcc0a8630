/**
 * A memoising deriver (results per service object, `Upstream` objects per unchanged service) must
 * never change a result: successive derivations of changing states, with and without cluster
 * filters, equal what a fresh derivation of the same state gives.
 */
import type { ClusterEvent } from '@ecs-ingress/types';
import { describe, expect, it } from 'vitest';
import {
  aTask,
  aTaskDefinition,
  clusterArn,
  T0,
  taskArn,
  taskDefinitionEvent,
  taskEvent,
} from '../test-support/builders.js';
import { createUpstreamDeriver, deriveUpstreams, type UpstreamDeriver } from './derive-upstreams.js';
import { reduce, reduceAll } from './reducer.js';
import { type ClusterState, emptyState } from './state.js';

const CLUSTERS = ['blue', 'green'];

/** 40 tasks over 8 services in 2 clusters, all RUNNING. */
function populated(): ClusterState {
  const events: ClusterEvent[] = [taskDefinitionEvent(aTaskDefinition())];
  for (let i = 0; i < 40; i++) {
    const cluster = CLUSTERS[i % 2] as string;
    events.push(
      taskEvent(
        aTask({
          taskArn: taskArn(`t${i}`, cluster),
          clusterArn: clusterArn(cluster),
          group: `service:svc-${i % 8}`,
          eniPrivateIpv4Address: `10.0.${i % 3}.${200 - i}`,
          version: 3,
        }),
      ),
    );
  }
  return reduceAll(emptyState(), events).state;
}

/** The derivation's content as plain data; by `derive` when given, else a fresh derivation. */
function plain(state: ClusterState, clusterArnFilter?: string, derive?: UpstreamDeriver) {
  const derivation =
    derive?.(state) ??
    deriveUpstreams(state, clusterArnFilter === undefined ? {} : { clusterArn: clusterArnFilter });
  return {
    upstreams: derivation.upstreams.map((u) => ({ name: u.name, servers: u.servers.map((s) => ({ ...s })) })),
    admissions: [...derivation.admissions].sort(([a], [b]) => (a < b ? -1 : 1)),
    awaitingHealth: derivation.awaitingHealth,
    unresolved: derivation.unresolved,
  };
}

describe('deriveUpstreams caches', () => {
  it('gives the previous Upstream object back for an unchanged service, a new one for a changed one', () => {
    const before = populated();
    const derive = createUpstreamDeriver();
    const first = derive(before);
    // Task t0 (svc-0, blue) stops.
    const stopped = aTask({
      taskArn: taskArn('t0', 'blue'),
      clusterArn: clusterArn('blue'),
      group: 'service:svc-0',
      lastStatus: 'STOPPED',
      desiredStatus: 'STOPPED',
      version: 9,
      observedAt: T0 + 1,
    });
    const after = reduce(before, taskEvent(stopped)).state;
    const second = derive(after);
    const byName = (d: typeof first, name: string) => d.upstreams.find((u) => u.name === name);
    expect(byName(second, 'svc-1')).toBe(byName(first, 'svc-1'));
    expect(byName(second, 'svc-0')).not.toBe(byName(first, 'svc-0'));
    expect(byName(second, 'svc-0')?.servers).toHaveLength(4);
    expect(byName(first, 'svc-0')?.servers).toHaveLength(5);
    expect(second.admissions.has(taskArn('t0', 'blue'))).toBe(false);
  });

  it.each([
    [undefined, 'green', undefined],
    [clusterArn('blue'), clusterArn('green'), 'blue'],
    ['green', undefined, 'green'],
  ])('filters %s, %s, %s in turn on changing states: each as a fresh derivation', (...filters) => {
    let state = populated();
    // One memoising deriver per filter, used on every step.
    const derivers = filters.map((filter) =>
      createUpstreamDeriver(filter === undefined ? {} : { clusterArn: filter }),
    );
    // Fresh state objects (never derived before) for the expected results.
    const fresh = (events: ClusterEvent[]) => reduceAll(populated(), events).state;
    const applied: ClusterEvent[] = [];
    for (let step = 0; step < 6; step++) {
      filters.forEach((filter, i) => {
        const expected = plain(fresh(applied), filter);
        expect(plain(state, filter, derivers[i])).toEqual(expected);
      });
      // Move one task per step to another address, or stop it, alternately.
      const i = step * 7;
      const cluster = CLUSTERS[i % 2] as string;
      const event = taskEvent(
        aTask({
          taskArn: taskArn(`t${i}`, cluster),
          clusterArn: clusterArn(cluster),
          group: `service:svc-${i % 8}`,
          eniPrivateIpv4Address: `10.9.0.${step + 1}`,
          version: 4 + step,
          lastStatus: step % 2 === 0 ? 'RUNNING' : 'STOPPED',
          observedAt: T0 + step + 1,
        }),
      );
      applied.push(event);
      state = reduce(state, event).state;
    }
  });
});
