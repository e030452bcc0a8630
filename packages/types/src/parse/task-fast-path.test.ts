/**
 * The task parser's fast path (plain property checks, no zod) must give exactly what the zod path
 * gives: the same snapshot for every task it accepts, and every task it declines goes to zod, which
 * must then produce the same error. Checked by mutating real-shaped tasks field by field with
 * values of every JSON type and a few edge values.
 */
import { describe, expect, it } from 'vitest';
import { EventParseError } from '../errors.js';
import { fixtureJson } from '../test-support/fixtures.js';
import { parseTaskAt, parseTaskWithSchema } from './task.js';

const OBSERVED = 1_700_000_000_000;

type Outcome = { ok: unknown } | { reason: string; message: string };

function outcomeOf(fn: () => unknown): Outcome {
  try {
    return { ok: fn() };
  } catch (e) {
    if (e instanceof EventParseError) return { reason: e.reason, message: e.message };
    throw e;
  }
}

const BASES: readonly [string, () => Record<string, unknown>][] = [
  ['fargate event', () => fixtureJson('events/task-fargate-awsvpc.json').detail as Record<string, unknown>],
  ['bridge event', () => fixtureJson('events/task-ec2-bridge.json').detail as Record<string, unknown>],
  [
    'multi-container event',
    () => fixtureJson('events/task-multi-container-attachments.json').detail as Record<string, unknown>,
  ],
  ['DescribeTasks task', () => fixtureJson('api/describe-tasks-task-healthy.json')],
];

/** Where to put a value: a path of keys and indexes from the task object. */
const PATHS: readonly (readonly (string | number)[])[] = [
  ['taskArn'],
  ['clusterArn'],
  ['taskDefinitionArn'],
  ['group'],
  ['lastStatus'],
  ['desiredStatus'],
  ['version'],
  ['healthStatus'],
  ['launchType'],
  ['containerInstanceArn'],
  ['stoppedReason'],
  ['stopCode'],
  ['updatedAt'],
  ['createdAt'],
  ['attachments'],
  ['attachments', 0],
  ['attachments', 0, 'type'],
  ['attachments', 0, 'details'],
  ['attachments', 0, 'details', 0],
  ['containers'],
  ['containers', 0],
  ['containers', 0, 'name'],
  ['containers', 0, 'lastStatus'],
  ['containers', 0, 'healthStatus'],
  ['containers', 0, 'networkInterfaces'],
  ['containers', 0, 'networkInterfaces', 0],
  ['containers', 0, 'networkBindings'],
  ['containers', 0, 'networkBindings', 0],
  ['containers', 0, 'networkBindings', 0, 'bindIP'],
  ['containers', 0, 'networkBindings', 0, 'containerPort'],
  ['containers', 0, 'networkBindings', 0, 'hostPort'],
  ['containers', 0, 'networkBindings', 0, 'protocol'],
];

const VALUES: readonly unknown[] = [
  undefined,
  null,
  '',
  ' ',
  'x',
  'HEALTHY',
  '2024-01-01T00:00:00Z',
  0,
  -1,
  1.5,
  80,
  65535,
  65536,
  2 ** 53,
  Number.NaN,
  true,
  [],
  [{}],
  {},
  { name: 'privateIPv4Address', value: 7 },
];

function withValue(task: Record<string, unknown>, path: readonly (string | number)[], value: unknown) {
  let node: unknown = task;
  for (let i = 0; i < path.length - 1; i++) {
    if (node === null || typeof node !== 'object') return false;
    node = (node as Record<string | number, unknown>)[path[i] as string | number];
  }
  if (node === null || typeof node !== 'object') return false;
  const key = path[path.length - 1] as string | number;
  if (value === undefined) delete (node as Record<string | number, unknown>)[key];
  else (node as Record<string | number, unknown>)[key] = value;
  return true;
}

describe('task parser fast path equals the zod path', () => {
  it.each(BASES)('%s, unchanged', (_name, make) => {
    const fast = outcomeOf(() => parseTaskAt(make(), OBSERVED, 'event', 'detail'));
    expect(fast).toHaveProperty('ok');
    expect(fast).toEqual(outcomeOf(() => parseTaskWithSchema(make(), OBSERVED, 'event', 'detail')));
  });

  it.each(BASES)('%s, every field set to every kind of value', (_name, make) => {
    let compared = 0;
    for (const path of PATHS) {
      for (const value of VALUES) {
        const a = make();
        const b = make();
        if (!withValue(a, path, value) || !withValue(b, path, value)) continue;
        const fast = outcomeOf(() => parseTaskAt(a, OBSERVED, 'event', 'detail'));
        const reference = outcomeOf(() => parseTaskWithSchema(b, OBSERVED, 'event', 'detail'));
        expect({ path, value, outcome: fast }).toEqual({ path, value, outcome: reference });
        compared++;
      }
    }
    expect(compared).toBeGreaterThan(200);
  });
});
