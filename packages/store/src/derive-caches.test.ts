/**
 * A memoising deriver (results per service object, `Upstream` objects per unchanged service) must
 * never change a result: successive derivations of changing states, with and without cluster
 * filters, equal what a fresh derivation of the same state gives.
 */

import {
  aTask,
  aTaskDefinition,
  clusterArn,
  servicesEvent,
  snapshotEvent,
  T0,
  taskArn,
  taskDefinitionArn,
  taskDefinitionEvent,
  taskEvent,
  xorshift,
} from '@ecs-ingress/testkit';
import type { ClusterEvent } from '@ecs-ingress/types';
import { describe, expect, it } from 'vitest';
import { createUpstreamDeriver, deriveUpstreams, type UpstreamDeriver } from './derive-upstreams.js';
import { reduce, reduceAll, reduceBatch } from './reducer.js';
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

  it.each([1, 2, 3])('seed %i: a memoised deriver on 150 small batches equals fresh derivations', (seed) => {
    const random = xorshift(0x51ed270b ^ (seed * 0x27d4eb2f));
    const derive = createUpstreamDeriver();
    const versions = new Map<string, number>();
    let state = reduceAll(emptyState(), [taskDefinitionEvent(aTaskDefinition())]).state;
    let at = T0;
    for (let step = 0; step < 150; step++) {
      const events: ClusterEvent[] = [];
      for (let n = 1 + Math.floor(random() * 3); n > 0; n--) {
        at += 1;
        const roll = random();
        if (roll < 0.03) events.push(servicesEvent([`extra-${Math.floor(random() * 4)}`], clusterArn(), at));
        else if (roll < 0.05) {
          events.push(
            taskDefinitionEvent(aTaskDefinition({ taskDefinitionArn: taskDefinitionArn('web', 2) })),
          );
        } else {
          const id = Math.floor(random() * 40);
          const arn = taskArn(`t${id}`);
          const version = (versions.get(arn) ?? 0) + 1;
          versions.set(arn, version);
          events.push(
            taskEvent(
              aTask({
                taskArn: arn,
                group: `service:svc-${id % 10}`,
                taskDefinitionArn: taskDefinitionArn('web', id % 7 === 0 ? 2 : 1),
                eniPrivateIpv4Address: `127.0.0.${1 + Math.floor(random() * 30)}`,
                lastStatus: random() < 0.15 ? 'STOPPED' : random() < 0.2 ? 'PENDING' : 'RUNNING',
                version,
                observedAt: at,
              }),
            ),
          );
        }
      }
      state = reduceBatch(state, events).state;
      expect(plain(state, undefined, derive)).toEqual(plain(state));
    }
  });

  it('a forgotten service loses its upstream; a task naming it again brings it back', () => {
    const derive = createUpstreamDeriver();
    const names = (state: ClusterState) => derive(state).upstreams.map((u) => u.name);
    const ghost = aTask({ taskArn: taskArn('g0'), group: 'service:ghost', observedAt: T0 });
    let state = reduceAll(emptyState(), [servicesEvent(['web']), taskEvent(ghost)]).state;
    expect(names(state)).toEqual(['ghost', 'web']);
    state = reduce(state, snapshotEvent({ startedAt: T0 + 1_000, tasks: [], services: ['web'] })).state;
    expect(names(state)).toEqual(['web']);
    expect(deriveUpstreams(state).upstreams.map((u) => u.name)).toEqual(['web']);
    const back = aTask({ taskArn: taskArn('g1'), group: 'service:ghost', observedAt: T0 + 2_000 });
    const result = reduce(state, taskEvent(back));
    expect(result.changed).toBe(true);
    expect(names(result.state)).toEqual(['ghost', 'web']);
  });
});
