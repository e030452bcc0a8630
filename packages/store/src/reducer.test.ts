import {
  aBridgeTask,
  aContainer,
  aContainerInstance,
  aDescribedTask,
  aTask,
  aTaskDefinition,
  clusterArn,
  containerInstanceEvent,
  ignoredEvent,
  servicesEvent,
  snapshotEvent,
  T0,
  taskArn,
  taskDefinitionEvent,
  taskEvent,
  xorshift,
} from '@ecs-ingress/testkit';
import type { ClusterEvent } from '@ecs-ingress/types';
import { describe, expect, it } from 'vitest';
import { type ReduceOutcome, type ReducerOptions, reduce, reduceAll } from './reducer.js';
import {
  type ClusterState,
  emptyState,
  getTask,
  getTombstone,
  knownServices,
  listTasks,
  taskCount,
  tombstoneCount,
} from './state.js';

const MIN = 60_000;

/** Applies all events but the last, then returns the last one's result. */
function lastResult(events: ClusterEvent[], options?: ReducerOptions) {
  const { state } = reduceAll(emptyState(), events.slice(0, -1), options);
  return reduce(state, events[events.length - 1]!, options);
}

function run(events: ClusterEvent[], options?: ReducerOptions): ClusterState {
  return reduceAll(emptyState(), events, options).state;
}

describe('reduce: version ordering', () => {
  it.each<{ name: string; events: ClusterEvent[]; outcome: ReduceOutcome; version: number | undefined }>([
    { name: 'first sighting', events: [taskEvent(aTask({ version: 2 }))], outcome: 'applied', version: 2 },
    {
      name: 'newer version',
      events: [taskEvent(aTask({ version: 2 })), taskEvent(aTask({ version: 3 }))],
      outcome: 'applied',
      version: 3,
    },
    {
      name: 'older version (out of order)',
      events: [taskEvent(aTask({ version: 3 })), taskEvent(aTask({ version: 2, lastStatus: 'PENDING' }))],
      outcome: 'stale',
      version: 3,
    },
    {
      name: 'same version from an event (duplicate delivery)',
      events: [taskEvent(aTask({ version: 3 })), taskEvent(aTask({ version: 3 }))],
      outcome: 'duplicate',
      version: 3,
    },
    {
      name: 'same version described with no new health',
      events: [
        taskEvent(aDescribedTask({ version: 3, healthStatus: 'HEALTHY' })),
        taskEvent(aDescribedTask({ version: 3, healthStatus: 'HEALTHY' })),
      ],
      outcome: 'duplicate',
      version: 3,
    },
    {
      name: 'older described observation',
      events: [
        taskEvent(aTask({ version: 4 })),
        taskEvent(aDescribedTask({ version: 3, healthStatus: 'HEALTHY' })),
      ],
      outcome: 'stale',
      version: 4,
    },
  ])('$name → $outcome', ({ events, outcome, version }) => {
    const result = lastResult(events);
    expect(result.outcome).toBe(outcome);
    expect(getTask(result.state, taskArn('1'))?.task.version).toBe(version);
    expect(result.changed).toBe(outcome === 'applied');
  });

  it('a stale or duplicate observation returns the very same state object', () => {
    const state = run([taskEvent(aTask({ version: 3 }))]);
    expect(reduce(state, taskEvent(aTask({ version: 3 }))).state).toBe(state);
    expect(reduce(state, taskEvent(aTask({ version: 1 }))).state).toBe(state);
  });

  it('keeps tasks of different ARNs and clusters apart', () => {
    const state = run([
      taskEvent(aTask({ taskArn: taskArn('1') })),
      taskEvent(aTask({ taskArn: taskArn('2') })),
      taskEvent(aTask({ taskArn: taskArn('1', 'other'), clusterArn: clusterArn('other') })),
    ]);
    expect(taskCount(state)).toBe(3);
  });
});

describe('reduce: health', () => {
  it('a described observation at the same version adds health and is applied', () => {
    const result = lastResult([
      taskEvent(aTask({ version: 3 })),
      taskEvent(
        aDescribedTask({
          version: 3,
          healthStatus: 'HEALTHY',
          containers: [aContainer({ healthStatus: 'HEALTHY' })],
        }),
      ),
    ]);
    expect(result.outcome).toBe('applied');
    expect(result.changed).toBe(true);
    const entry = getTask(result.state, taskArn('1'))!;
    expect(entry.health).toMatchObject({ taskStatus: 'HEALTHY', containers: { web: 'HEALTHY' }, version: 3 });
    expect(entry.task.source).toBe('described');
  });

  it('health is sticky across later events, which carry none we trust', () => {
    const state = run([
      taskEvent(aDescribedTask({ version: 3, healthStatus: 'HEALTHY', observedAt: T0 })),
      taskEvent(aTask({ version: 4, healthStatus: 'UNKNOWN', observedAt: T0 + 1000 })),
    ]);
    const entry = getTask(state, taskArn('1'))!;
    expect(entry.task.version).toBe(4);
    expect(entry.health).toMatchObject({ taskStatus: 'HEALTHY', version: 3, observedAt: T0 });
  });

  it('a newer description replaces the health', () => {
    const state = run([
      taskEvent(aDescribedTask({ version: 3, healthStatus: 'HEALTHY' })),
      taskEvent(aDescribedTask({ version: 5, healthStatus: 'UNHEALTHY', observedAt: T0 + 5 })),
    ]);
    expect(getTask(state, taskArn('1'))!.health?.taskStatus).toBe('UNHEALTHY');
  });

  it('events never set health, even when they carry a healthStatus', () => {
    const state = run([taskEvent(aTask({ healthStatus: 'HEALTHY' }))]);
    expect(getTask(state, taskArn('1'))!.health).toBeUndefined();
  });
});

describe('reduce: tombstones', () => {
  const stopped = (version: number, observedAt = T0) =>
    taskEvent(aTask({ version, lastStatus: 'STOPPED', desiredStatus: 'STOPPED', observedAt }));

  it('STOPPED removes the task and leaves a tombstone', () => {
    const result = lastResult([taskEvent(aTask({ version: 3 })), stopped(5)]);
    expect(result.outcome).toBe('applied');
    expect(result.changed).toBe(true);
    expect(getTask(result.state, taskArn('1'))).toBeUndefined();
    expect(getTombstone(result.state, taskArn('1'))).toMatchObject({
      version: 5,
      reason: 'stopped',
      expiresAt: T0 + 15 * MIN,
    });
  });

  it.each([
    { name: 'late RUNNING at a lower version', version: 3 },
    { name: 'duplicate STOPPED', version: 5 },
    { name: 'RUNNING at a higher version (impossible in ECS, refused anyway)', version: 9 },
  ])('blocks $name while it lives', ({ version }) => {
    const result = lastResult([stopped(5), taskEvent(aTask({ version, observedAt: T0 + 1000 }))]);
    expect(result.outcome).toBe('stale');
    expect(getTask(result.state, taskArn('1'))).toBeUndefined();
  });

  it('a STOPPED task first seen stopped is tombstoned too', () => {
    const state = run([stopped(5)]);
    expect(taskCount(state)).toBe(0);
    expect(getTombstone(state, taskArn('1'))?.version).toBe(5);
  });

  it('expires by the state clock, not the wall clock', () => {
    const options = { tombstoneTtlMs: 10 * MIN };
    // Another task's event moves the clock past the expiry.
    const state = run(
      [stopped(5), taskEvent(aTask({ taskArn: taskArn('2'), observedAt: T0 + 11 * MIN }))],
      options,
    );
    expect(getTombstone(state, taskArn('1'))).toBeUndefined();
    expect(tombstoneCount(state)).toBe(0); // swept (first sweep after the interval)
    const late = reduce(state, taskEvent(aTask({ version: 3, observedAt: T0 })), options);
    expect(late.outcome).toBe('applied');
  });

  it('still blocks one ms before expiry', () => {
    const state = run([
      stopped(5),
      taskEvent(aTask({ taskArn: taskArn('2'), observedAt: T0 + 15 * MIN - 1 })),
    ]);
    expect(reduce(state, taskEvent(aTask({ version: 3 }))).outcome).toBe('stale');
  });

  it('DELETED is terminal like STOPPED', () => {
    const state = run([taskEvent(aTask()), taskEvent(aTask({ version: 7, lastStatus: 'DELETED' }))]);
    expect(taskCount(state)).toBe(0);
    expect(getTombstone(state, taskArn('1'))?.reason).toBe('stopped');
  });
});

describe('reduce: snapshot merge', () => {
  const startedAt = T0 + 10_000;
  const listing = (tasks: ReturnType<typeof aTask>[], extra: { services?: string[] } = {}) =>
    snapshotEvent({ startedAt, tasks: tasks.map((t) => ({ ...t, observedAt: t.observedAt })), ...extra });

  it('removes tasks observed before the listing began and absent from it', () => {
    const state = run([
      taskEvent(aTask({ taskArn: taskArn('old'), observedAt: T0 })),
      listing([aDescribedTask({ taskArn: taskArn('kept'), observedAt: startedAt + 5 })]),
    ]);
    expect(listTasks(state).map((e) => e.task.taskArn)).toEqual([taskArn('kept')]);
    expect(getTombstone(state, taskArn('old'))).toMatchObject({ reason: 'absent', version: 3 });
  });

  it('keeps a task observed after the listing began even when absent from it (event raced the listing)', () => {
    const state = run([
      taskEvent(aTask({ taskArn: taskArn('racer'), observedAt: startedAt + 1 })),
      listing([]),
    ]);
    expect(getTask(state, taskArn('racer'))).toBeDefined();
  });

  it('keeps a task observed exactly at startedAt', () => {
    const state = run([taskEvent(aTask({ observedAt: startedAt })), listing([])]);
    expect(getTask(state, taskArn('1'))).toBeDefined();
  });

  it('keeps the higher version where both know a task', () => {
    const newer = run([
      taskEvent(aTask({ version: 6, observedAt: startedAt + 1 })),
      listing([aDescribedTask({ version: 4, lastStatus: 'PENDING', observedAt: startedAt + 2 })]),
    ]);
    expect(getTask(newer, taskArn('1'))!.task.version).toBe(6);
    const older = run([
      taskEvent(aTask({ version: 2, lastStatus: 'PENDING' })),
      listing([aDescribedTask({ version: 4, observedAt: startedAt + 2 })]),
    ]);
    expect(getTask(older, taskArn('1'))!.task).toMatchObject({ version: 4, lastStatus: 'RUNNING' });
  });

  it('does not resurrect a tombstoned task', () => {
    const state = run([
      taskEvent(
        aTask({ version: 5, lastStatus: 'STOPPED', desiredStatus: 'STOPPED', observedAt: startedAt + 1 }),
      ),
      listing([aDescribedTask({ version: 4, observedAt: startedAt + 2 })]),
    ]);
    expect(getTask(state, taskArn('1'))).toBeUndefined();
  });

  it('an absent tombstone refuses a late duplicate but admits a newer version', () => {
    const removed = run([taskEvent(aTask({ version: 3 })), listing([])]);
    expect(reduce(removed, taskEvent(aTask({ version: 3 }))).outcome).toBe('stale');
    const newer = reduce(removed, taskEvent(aTask({ version: 4, observedAt: startedAt + 3 })));
    expect(newer.outcome).toBe('applied');
    expect(getTask(newer.state, taskArn('1'))!.task.version).toBe(4);
    expect(getTombstone(newer.state, taskArn('1'))).toBeUndefined();
  });

  it('only touches its own cluster', () => {
    const other = aTask({ taskArn: taskArn('x', 'other'), clusterArn: clusterArn('other') });
    const state = run([taskEvent(other), listing([])]);
    expect(getTask(state, other.taskArn)).toBeDefined();
  });

  it('registers listed services and advances the clock', () => {
    const state = run([listing([], { services: ['api', 'web'] })]);
    expect(knownServices(state)).toEqual(['api', 'web']);
    expect(state.clock).toBe(startedAt);
  });

  it('skips an invalid task without sinking the listing', () => {
    const bad = { ...aTask({ taskArn: taskArn('bad') }), version: Number.NaN };
    const state = run([listing([bad, aDescribedTask({ taskArn: taskArn('good'), observedAt: startedAt })])]);
    expect(listTasks(state).map((e) => e.task.taskArn)).toEqual([taskArn('good')]);
  });

  it('an identical re-listing is a duplicate', () => {
    const t = aDescribedTask({ observedAt: startedAt });
    const result = lastResult([listing([t]), listing([t])]);
    expect(result.outcome).toBe('duplicate');
    expect(result.changed).toBe(false);
  });
});

describe('reduce: services', () => {
  it.each<{ name: string; events: ClusterEvent[]; services: string[] }>([
    { name: 'from a task group', events: [taskEvent(aTask({ group: 'service:api' }))], services: ['api'] },
    { name: 'from a services event', events: [servicesEvent(['b', 'a'])], services: ['a', 'b'] },
    {
      name: 'not from a standalone task',
      events: [taskEvent(aTask({ group: 'family:batch' }))],
      services: [],
    },
    {
      name: 'kept after the last task stopped',
      events: [taskEvent(aTask()), taskEvent(aTask({ version: 9, lastStatus: 'STOPPED' }))],
      services: ['web'],
    },
    {
      name: 'from a stale observation too',
      events: [
        taskEvent(aTask({ version: 9, lastStatus: 'STOPPED' })),
        taskEvent(aTask({ version: 2, group: 'service:web' })),
      ],
      services: ['web'],
    },
  ])('$name', ({ events, services }) => {
    expect(knownServices(run(events))).toEqual(services);
  });

  it('forgets a service only events named, at a listing that does not name it, once it has no task', () => {
    // A forged (or stray) event names `ghost`; its task never was in ECS.
    const forged = aTask({ taskArn: taskArn('f0'), group: 'service:ghost', observedAt: T0 });
    let state = run([taskEvent(forged), taskEvent(aTask({ taskArn: taskArn('a1'), observedAt: T0 }))]);
    expect(knownServices(state)).toEqual(['ghost', 'web']);
    // The listing (started later) has web's task and names web only: ghost's task is absent, so
    // ghost has no task and no listing names it.
    state = reduce(
      state,
      snapshotEvent({
        startedAt: T0 + 1_000,
        tasks: [aTask({ taskArn: taskArn('a1'), observedAt: T0 + 1_000 })],
        services: ['web'],
      }),
    ).state;
    expect(knownServices(state)).toEqual(['web']);
  });

  it('keeps a listed service forever, and an unlisted one while a task names it', () => {
    let state = run([
      servicesEvent(['old']),
      taskEvent(aTask({ taskArn: taskArn('b1'), group: 'service:fresh', observedAt: T0 + 5_000 })),
    ]);
    // A listing that began before fresh's event names neither: old was listed once, fresh has a task.
    state = reduce(state, snapshotEvent({ startedAt: T0 + 1_000, tasks: [], services: [] })).state;
    expect(knownServices(state)).toEqual(['fresh', 'old']);
    // A listing without services (an old recording) forgets nothing.
    const stopped = reduce(
      state,
      taskEvent(
        aTask({
          taskArn: taskArn('b1'),
          group: 'service:fresh',
          version: 9,
          lastStatus: 'STOPPED',
          observedAt: T0 + 6_000,
        }),
      ),
    ).state;
    expect(knownServices(reduce(stopped, snapshotEvent({ startedAt: T0 + 7_000, tasks: [] })).state)).toEqual(
      ['fresh', 'old'],
    );
    // The next listing that does not name it, with its task gone, does.
    expect(
      knownServices(reduce(stopped, snapshotEvent({ startedAt: T0 + 7_000, tasks: [], services: [] })).state),
    ).toEqual(['old']);
  });

  it('a services event with nothing new is a duplicate; per cluster', () => {
    const state = run([servicesEvent(['a']), servicesEvent(['z'], clusterArn('other'))]);
    expect(reduce(state, servicesEvent(['a'])).outcome).toBe('duplicate');
    expect(knownServices(state, clusterArn())).toEqual(['a']);
    expect(knownServices(state, clusterArn('other'))).toEqual(['z']);
  });

  it('standalone tasks are stored (the derivation ignores them)', () => {
    const state = run([
      taskEvent(aTask({ group: 'family:batch' })),
      taskEvent(aTask({ taskArn: taskArn('2'), group: undefined })),
    ]);
    expect(taskCount(state)).toBe(2);
  });
});

describe('reduce: task definitions, container instances, other events', () => {
  it('task definitions are immutable: the first copy wins', () => {
    const first = aTaskDefinition();
    const state = run([taskDefinitionEvent(first)]);
    const again = reduce(state, taskDefinitionEvent(aTaskDefinition({ networkMode: 'bridge' })));
    expect(again.outcome).toBe('duplicate');
    expect(again.state).toBe(state);
  });

  it('container instances: equal is a duplicate, a change is applied', () => {
    const state = run([containerInstanceEvent(aContainerInstance({ privateIpAddress: undefined }))]);
    const learned = reduce(state, containerInstanceEvent(aContainerInstance()));
    expect(learned.outcome).toBe('applied');
    expect(learned.changed).toBe(true);
    expect(reduce(learned.state, containerInstanceEvent(aContainerInstance())).outcome).toBe('duplicate');
  });

  it('ignored events are counted as ignored and only move the clock', () => {
    const state = run([taskEvent(aTask())]);
    const result = reduce(state, ignoredEvent('ECS Service Action', T0 + 5));
    expect(result.outcome).toBe('ignored');
    expect(result.changed).toBe(false);
    expect(result.state.clock).toBe(T0 + 5);
    expect(result.state.services).toBe(state.services);
  });

  it.each<{ name: string; event: ClusterEvent }>([
    { name: 'task without ARN', event: taskEvent(aTask({ taskArn: '' })) },
    { name: 'task with NaN version', event: taskEvent({ ...aTask(), version: Number.NaN }) },
    {
      name: 'task with bad observedAt',
      event: taskEvent({ ...aTask(), observedAt: Number.POSITIVE_INFINITY }),
    },
    {
      name: 'task definition without ARN',
      event: taskDefinitionEvent(aTaskDefinition({ taskDefinitionArn: '' })),
    },
    {
      name: 'container instance without ARN',
      event: containerInstanceEvent(aContainerInstance({ containerInstanceArn: '' })),
    },
    { name: 'snapshot without cluster', event: snapshotEvent({ clusterArn: '' }) },
    { name: 'unknown kind', event: { kind: 'bogus' } as unknown as ClusterEvent },
  ])('$name is invalid and changes nothing', ({ event }) => {
    const state = run([taskEvent(aTask())]);
    const result = reduce(state, event);
    expect(result.outcome).toBe('invalid');
    expect(result.state).toBe(state);
  });

  it('the clock never goes backwards', () => {
    const state = run([
      taskEvent(aTask({ observedAt: T0 + 100 })),
      taskEvent(aTask({ taskArn: taskArn('2'), observedAt: T0 })),
    ]);
    expect(state.clock).toBe(T0 + 100);
  });

  it('freezes what enters the state', () => {
    const state = run([taskEvent(aBridgeTask())]);
    const entry = getTask(state, taskArn('1'))!;
    expect(Object.isFrozen(entry)).toBe(true);
    expect(Object.isFrozen(entry.task.containers[0]!.networkBindings[0])).toBe(true);
  });

  it('counts outcomes in reduceAll', () => {
    const { counts } = reduceAll(emptyState(), [
      taskEvent(aTask({ version: 3 })),
      taskEvent(aTask({ version: 3 })),
      taskEvent(aTask({ version: 2 })),
      ignoredEvent(),
      taskEvent(aTask({ taskArn: '' })),
    ]);
    expect(counts).toEqual({ applied: 1, duplicate: 1, stale: 1, ignored: 1, invalid: 1 });
  });
});

describe('reduce: against a plain model, on random streams', () => {
  // A direct transcription of the rules over plain Maps, with none of the reducer's structure (tasks
  // and tombstones grouped by service, one immer draft per batch). The
  // reducer must agree with it on every outcome and on the final tasks, tombstones and services.
  interface ModelTask {
    version: number;
    observedAt: number;
    health: string | undefined;
  }
  interface Model {
    tasks: Map<string, ModelTask>;
    tombstones: Map<string, { version: number; expiresAt: number; reason: 'stopped' | 'absent' }>;
    services: Set<string>;
    clock: number;
  }
  const TTL = 5 * MIN;

  function modelTask(model: Model, task: ReturnType<typeof aTask>): ReduceOutcome {
    if (task.serviceName !== undefined) model.services.add(task.serviceName);
    const tomb = model.tombstones.get(task.taskArn);
    if (tomb !== undefined && tomb.expiresAt > model.clock) {
      if (tomb.reason === 'stopped' || task.version <= tomb.version) return 'stale';
      model.tombstones.delete(task.taskArn);
    }
    const stored = model.tasks.get(task.taskArn);
    if (stored !== undefined && task.version < stored.version) return 'stale';
    if (stored !== undefined && task.version === stored.version) {
      if (task.source !== 'described' || stored.health === task.healthStatus) return 'duplicate';
      stored.health = task.healthStatus;
      return 'applied';
    }
    if (task.lastStatus === 'STOPPED') {
      model.tasks.delete(task.taskArn);
      model.tombstones.set(task.taskArn, {
        version: task.version,
        expiresAt: model.clock + TTL,
        reason: 'stopped',
      });
      return 'applied';
    }
    const health = task.source === 'described' ? task.healthStatus : stored?.health;
    model.tasks.set(task.taskArn, { version: task.version, observedAt: task.observedAt, health });
    return 'applied';
  }

  it.each([1, 2, 3, 4, 5, 6, 7, 8])('seed %i: 400 events over 12 ARNs', (seed) => {
    const random = xorshift(0x9e3779b9 ^ (seed * 0x85ebca6b));
    const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)] as T;
    const model: Model = { tasks: new Map(), tombstones: new Map(), services: new Set(), clock: 0 };
    // ECS never changes a task's group (and the store looks a task up in its own service): one
    // random service per ARN, many of them with one task.
    const groups = new Map<string, string>();
    const groupOf = (arn: string): string => {
      let group = groups.get(arn);
      if (group === undefined) {
        group = `service:svc-${Math.floor(random() * 200)}`;
        groups.set(arn, group);
      }
      return group;
    };
    let state = emptyState();
    let at = T0;
    const outcomes: [ReduceOutcome, ReduceOutcome][] = [];
    for (let i = 0; i < 400; i++) {
      at += Math.floor(random() * 40_000); // the TTL (5 min) runs out now and then
      if (random() < 0.06) {
        // A listing that began a little earlier, missing some tasks: absent tombstones.
        const startedAt = at - Math.floor(random() * 20_000);
        const listed = [...model.tasks.keys()].filter(() => random() < 0.6);
        const tasks = listed.map((arn) =>
          aTask({
            taskArn: arn,
            group: groupOf(arn),
            version: model.tasks.get(arn)!.version,
            observedAt: startedAt,
          }),
        );
        state = reduce(state, snapshotEvent({ startedAt, tasks }), { tombstoneTtlMs: TTL }).state;
        model.clock = Math.max(model.clock, startedAt);
        for (const arn of listed)
          modelTask(
            model,
            aTask({
              taskArn: arn,
              group: groupOf(arn),
              version: model.tasks.get(arn)!.version,
              observedAt: startedAt,
            }),
          );
        for (const [arn, task] of [...model.tasks]) {
          if (!listed.includes(arn) && task.observedAt < startedAt) {
            model.tasks.delete(arn);
            model.tombstones.set(arn, {
              version: task.version,
              expiresAt: model.clock + TTL,
              reason: 'absent',
            });
          }
        }
        continue;
      }
      const arn = taskArn(String(Math.floor(random() * 12)));
      const task = aTask({
        taskArn: arn,
        group: groupOf(arn),
        version: 1 + Math.floor(random() * 8),
        lastStatus: random() < 0.15 ? 'STOPPED' : pick(['PENDING', 'RUNNING']),
        observedAt: at,
        ...(random() < 0.3
          ? { source: 'described' as const, healthStatus: pick(['HEALTHY', 'UNHEALTHY'] as const) }
          : {}),
      });
      const result = reduce(state, taskEvent(task), { tombstoneTtlMs: TTL });
      state = result.state;
      model.clock = Math.max(model.clock, at);
      outcomes.push([result.outcome, modelTask(model, task)]);
    }
    expect(outcomes.filter(([real, expected]) => real !== expected)).toEqual([]);
    expect(
      Object.fromEntries(
        listTasks(state).map((e) => [e.task.taskArn, [e.task.version, e.health?.taskStatus]]),
      ),
    ).toEqual(Object.fromEntries([...model.tasks].map(([arn, t]) => [arn, [t.version, t.health]])));
    for (const arn of Array.from({ length: 12 }, (_, n) => taskArn(String(n)))) {
      const tomb = model.tombstones.get(arn);
      const inForce = tomb !== undefined && tomb.expiresAt > model.clock ? tomb : undefined;
      expect([arn, getTombstone(state, arn)?.version]).toEqual([arn, inForce?.version]);
      // The invariant the reducer's shortcut stands on.
      if (getTask(state, arn) !== undefined) expect(getTombstone(state, arn)).toBeUndefined();
    }
    expect(knownServices(state)).toEqual([...model.services].sort());
    // The streams do exercise every path.
    expect(new Set(outcomes.map(([real]) => real))).toEqual(new Set(['applied', 'stale', 'duplicate']));
  });
});
