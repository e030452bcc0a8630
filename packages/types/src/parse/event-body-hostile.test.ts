/**
 * `parseEventBody` on what a queue may really carry: every bundled fixture and recording line, every
 * field it reads set to every JSON type, random corruptions of a task event, and very large bodies.
 * Whatever comes in, the result is a parsed envelope or an `EventParseError` with a stable reason.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fixtureJson, xorshiftBelow } from '@ecs-ingress/testkit';
import { describe, expect, it } from 'vitest';
import { EventParseError } from '../errors.js';
import { type ParsedEnvelope, parseEventBody } from './event-body.js';

const here = dirname(fileURLToPath(import.meta.url));
const packageDir = join(here, '..', '..');
const repoDir = join(packageDir, '..', '..');

type Outcome = { ok: ParsedEnvelope } | { reason: string };

/** The envelope, or the reason of the `EventParseError`; anything else thrown fails the test. */
function outcome(text: string): Outcome {
  try {
    return { ok: parseEventBody(text) };
  } catch (error) {
    if (error instanceof EventParseError) {
      // An identifier against its ARN grammar has its own, narrower code.
      expect(['ECS_INGRESS_EVENT_INVALID', 'ECS_INGRESS_ARN_INVALID']).toContain(error.code);
      return { reason: error.reason };
    }
    throw new Error(`parseEventBody threw something other than an EventParseError on ${text}`, {
      cause: error,
    });
  }
}

const base = (): Record<string, unknown> => fixtureJson('events/task-fargate-awsvpc.json');
const detailOf = (event: Record<string, unknown>) => event.detail as Record<string, unknown>;

/** JSON values of every type, for fields to take. */
const VALUES: readonly unknown[] = [
  'text',
  '',
  '  192.0.2.9  ',
  'RUNNING',
  'HEALTHY',
  '2024-05-14T09:00:00.000Z',
  '2024-05-14T09:00:00+02:00',
  0,
  -1,
  7,
  4.5,
  1e21,
  1700000000,
  1700000000123,
  true,
  false,
  null,
  {},
  [],
  [{}],
  ['x'],
  { name: 'privateIPv4Address', value: '192.0.2.3' },
];

/** A copy of `event` with the value at `path` replaced (or removed when `value` is `undefined`). */
function withValue(event: unknown, path: readonly (string | number)[], value: unknown): unknown {
  const copy = structuredClone(event) as Record<string | number, unknown>;
  let node = copy;
  for (const step of path.slice(0, -1)) {
    const next = node[step];
    if (typeof next !== 'object' || next === null) return copy;
    node = next as Record<string | number, unknown>;
  }
  const last = path[path.length - 1]!;
  if (value === undefined) delete node[last];
  else node[last] = value;
  return copy;
}

describe('parseEventBody on every bundled example', () => {
  it('reads every event fixture, pretty-printed and minified alike', () => {
    const dir = join(packageDir, 'fixtures', 'events');
    const names = readdirSync(dir).filter((n) => n.endsWith('.json'));
    expect(names.length).toBeGreaterThan(5);
    for (const name of names) {
      const text = readFileSync(join(dir, name), 'utf8');
      const pretty = outcome(text);
      expect(pretty, name).toHaveProperty('ok');
      expect(outcome(JSON.stringify(JSON.parse(text))), name).toEqual(pretty);
    }
  });

  it('reads every line of the bundled recordings', () => {
    let lines = 0;
    for (const file of ['sample-recording.jsonl', 'demo-scenario.jsonl']) {
      const text = readFileSync(join(repoDir, 'packages', 'controller', 'fixtures', file), 'utf8');
      for (const line of text.split('\n')) {
        if (line.trim() === '') continue;
        lines++;
        expect(outcome(line), `${file}: ${line}`).toHaveProperty('ok');
      }
    }
    expect(lines).toBeGreaterThan(50);
  });
});

describe('parseEventBody on hostile input', () => {
  it('with every field it reads set to every JSON type, or removed: an envelope or an error naming that field', () => {
    const event = base();
    const detail = detailOf(event);
    const paths: (string | number)[][] = [
      ['id'],
      ['time'],
      ['source'],
      ['detail-type'],
      ['detail'],
      ...Object.keys(detail).map((key) => ['detail', key]),
      ['detail', 'group'],
      ['detail', 'healthStatus'],
      ['detail', 'stoppedReason'],
      ['detail', 'stopCode'],
      ['detail', 'containerInstanceArn'],
      ['detail', 'attachments', 0],
      ['detail', 'attachments', 0, 'type'],
      ['detail', 'attachments', 0, 'details'],
      ['detail', 'attachments', 0, 'details', 0],
      ['detail', 'attachments', 0, 'details', 0, 'name'],
      ['detail', 'attachments', 0, 'details', 0, 'value'],
      ['detail', 'containers', 0],
      ['detail', 'containers', 0, 'name'],
      ['detail', 'containers', 0, 'lastStatus'],
      ['detail', 'containers', 0, 'healthStatus'],
      ['detail', 'containers', 0, 'networkInterfaces'],
      ['detail', 'containers', 0, 'networkInterfaces', 0],
      ['detail', 'containers', 0, 'networkInterfaces', 0, 'privateIpv4Address'],
      ['detail', 'containers', 0, 'networkBindings'],
    ];
    const wrong: unknown[] = [];
    let accepted = 0;
    let rejected = 0;
    for (const path of paths) {
      const where = path.join('.');
      for (const value of [...VALUES, undefined]) {
        const result = outcome(JSON.stringify(withValue(event, path, value)));
        if ('ok' in result) {
          accepted++;
          continue;
        }
        rejected++;
        const field = /^(?:missing-field|invalid-field|invalid-arn|bad-timestamp|not-an-object):(.+)$/.exec(
          result.reason,
        )?.[1];
        if (field === undefined || (field !== where && !field.startsWith(`${where}.`))) {
          wrong.push({ path, value, reason: result.reason });
        }
      }
    }
    expect(wrong).toEqual([]);
    expect(accepted).toBeGreaterThan(300);
    expect(rejected).toBeGreaterThan(200);
  });

  it('with the type of event changed by a field: another source or detail type is acknowledged as ignored', () => {
    const event = base();
    for (const [path, value, reason] of [
      [['source'], 'aws.elsewhere', 'source-not-handled'],
      [['detail-type'], 'ECS Service Action', 'detail-type-not-handled'],
    ] as const) {
      const result = outcome(JSON.stringify(withValue(event, path, value)));
      expect(result).toMatchObject({ ok: { events: [{ kind: 'ignored', reason }] } });
    }
  });

  it('on 3,000 random corruptions of a task event: not-json for invalid JSON, else an envelope or a coded error', () => {
    const text = JSON.stringify(base());
    const alphabet = [
      '"',
      '\\',
      '{',
      '}',
      '[',
      ']',
      ',',
      ':',
      ' ',
      '0',
      '-',
      '.',
      'e',
      'a',
      'n',
      't',
      '\n',
      '\u0001',
    ];
    const next = xorshiftBelow(0x1234567);
    const counts = { invalidJson: 0, parsed: 0, rejected: 0 };
    for (let i = 0; i < 3_000; i++) {
      const at = next(text.length);
      const char = alphabet[next(alphabet.length)]!;
      const variant =
        i % 3 === 0
          ? text.slice(0, at) + char + text.slice(at + 1) // replace
          : i % 3 === 1
            ? text.slice(0, at) + char + text.slice(at) // insert
            : text.slice(0, at) + text.slice(at + 1); // delete
      let isJson = true;
      try {
        JSON.parse(variant);
      } catch {
        isJson = false;
      }
      const result = outcome(variant);
      if (!isJson) {
        counts.invalidJson++;
        expect(result, variant).toEqual({ reason: 'not-json' });
      } else if ('ok' in result) {
        counts.parsed++;
      } else {
        counts.rejected++;
        expect(result.reason, variant).toMatch(
          /^(?:missing-field|invalid-field|invalid-arn|bad-timestamp|not-an-object):/,
        );
      }
    }
    // Seeded: 814 invalid, 2,036 parsed, 150 rejected.
    expect(counts.invalidJson).toBeGreaterThan(500);
    expect(counts.parsed).toBeGreaterThan(1_000);
    expect(counts.rejected).toBeGreaterThan(50);
  });

  it('keeps nothing of a 200 KB body but the snapshot: 1,000 of them grow the heap by far less than 200 MB', () => {
    // The vitest config starts the workers with --expose-gc.
    const gc = (globalThis as { gc?: () => void }).gc;
    if (gc === undefined) throw new Error('this test needs node --expose-gc (see vitest.config.ts)');
    const padding = 'x'.repeat(200_000);
    const text = (i: number) => {
      const event = base();
      const detail = detailOf(event);
      detail.taskArn = `${(detail.taskArn as string).slice(0, -8)}${i.toString(16).padStart(8, '0')}`;
      detail.overrides = { padding };
      return JSON.stringify(event);
    };
    gc();
    const before = process.memoryUsage().heapUsed;
    let kept: unknown[] = [];
    // Each text lives only while it is parsed, as an SQS body does.
    for (let i = 0; i < 1_000; i++) kept.push(parseEventBody(text(i)).events[0]);
    gc();
    const grown = process.memoryUsage().heapUsed - before;
    expect(kept).toHaveLength(1_000);
    expect(kept[999]).toMatchObject({ kind: 'task', task: { taskArn: expect.stringMatching(/000003e7$/) } });
    // Each text is ~201 KB: keeping them would grow the heap by ~200 MB.
    expect(grown).toBeLessThan(20_000_000);
    kept = [];
  });
});
