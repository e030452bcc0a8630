/**
 * A task object with any field of any JSON type (or removed) is either a snapshot or an
 * `EventParseError` whose reason names that very field (or one inside it): never a `TypeError`,
 * never an error blamed on another field. Checked by mutating real-shaped tasks field by field.
 */

import { fixtureJson } from '@ecs-ingress/testkit';
import { describe, expect, it } from 'vitest';
import { EventParseError } from '../errors.js';
import { parseTaskAt } from './task.js';

const OBSERVED = 1_700_000_000_000;

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

/** Sets (or, for `undefined`, removes) the value at `path`; false when the path does not exist. */
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

/** `<kind>:<field>` with the field at `where` or inside it. */
function namesField(reason: string, where: string): boolean {
  const match = /^(missing-field|invalid-field|invalid-arn|bad-timestamp|not-an-object):(.+)$/.exec(reason);
  const field = match?.[2];
  return field !== undefined && (field === where || field.startsWith(`${where}.`));
}

describe('parseTaskAt: every field set to every kind of value', () => {
  it.each(BASES)('%s, unchanged, parses', (_name, make) => {
    const task = make();
    expect(parseTaskAt(task, OBSERVED, 'event', 'detail')).toMatchObject({
      taskArn: task.taskArn,
      observedAt: OBSERVED,
      source: 'event',
    });
  });

  it.each(BASES)('%s: a snapshot of the same task, or an error naming the field', (_name, make) => {
    const wrong: unknown[] = [];
    let accepted = 0;
    let rejected = 0;
    for (const path of PATHS) {
      for (const value of VALUES) {
        const task = make();
        const taskArn = task.taskArn;
        if (!withValue(task, path, value)) continue;
        const where = ['detail', ...path].join('.');
        try {
          const snapshot = parseTaskAt(task, OBSERVED, 'event', 'detail');
          accepted++;
          if (path[0] !== 'taskArn' && snapshot.taskArn !== taskArn) wrong.push({ path, value, snapshot });
        } catch (error) {
          rejected++;
          if (!(error instanceof EventParseError) || !namesField(error.reason, where)) {
            wrong.push({ path, value, error: String(error), reason: (error as EventParseError).reason });
          }
        }
      }
    }
    expect(wrong).toEqual([]);
    // Both outcomes occur often, or the table above tests nothing.
    expect(accepted).toBeGreaterThan(100);
    expect(rejected).toBeGreaterThan(100);
  });
});
