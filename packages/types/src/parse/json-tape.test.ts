import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it, vi } from 'vitest';
import { EventParseError } from '../errors.js';
import { fixtureJson } from '../test-support/fixtures.js';
import { seededRandom } from '../test-support/random.js';
import { parseEventBody, parseEventBodyWithJsonParse } from './event-body.js';
import { jsonScannerAvailable, readTaskEvent } from './json-tape.js';

const here = dirname(fileURLToPath(import.meta.url));
const packageDir = join(here, '..', '..');
const repoDir = join(packageDir, '..', '..');

type Outcome = { ok: unknown } | { reason: string; message: string };

function outcome(parse: (text: string) => unknown, text: string): Outcome {
  try {
    return { ok: parse(text) };
  } catch (error) {
    if (error instanceof EventParseError) return { reason: error.reason, message: error.message };
    throw error;
  }
}

/** Checks parseEventBody against the JSON.parse route; returns whether the scanner route read it. */
function agrees(text: string): boolean {
  const scanned = readTaskEvent(text) !== undefined;
  const actual = outcome(parseEventBody, text);
  const expected = outcome(parseEventBodyWithJsonParse, text);
  expect(actual, text).toEqual(expected);
  if (scanned) {
    // The scanner never accepts what JSON.parse rejects.
    expect(() => JSON.parse(text), text).not.toThrow();
  }
  return scanned;
}

const base = (): Record<string, unknown> => fixtureJson('events/task-fargate-awsvpc.json');
const detailOf = (event: Record<string, unknown>) => event.detail as Record<string, unknown>;

/** JSON values of every type, for fields to take. */
const VALUES: readonly unknown[] = [
  'text',
  '',
  '  10.0.0.9  ',
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
  { name: 'privateIPv4Address', value: '10.1.2.3' },
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

describe('the WebAssembly JSON scanner', () => {
  it('loads here', () => {
    expect(jsonScannerAvailable()).toBe(true);
  });

  it('is the one compiled from assembly/json-scanner.ts (the generated module is not stale)', async () => {
    const build = (await import(join(packageDir, 'scripts', 'build-wasm.mjs'))) as {
      compileScanner: () => Promise<Buffer>;
      moduleText: (wasm: Buffer) => string;
    };
    const committed = readFileSync(join(here, 'json-scanner.wasm.ts'), 'utf8');
    expect(build.moduleText(await build.compileScanner())).toBe(committed);
  }, 60_000);
});

describe('parseEventBody: the scanner route gives what the JSON.parse route gives', () => {
  it('on every event fixture, pretty-printed and minified', () => {
    const dir = join(packageDir, 'fixtures', 'events');
    let scanned = 0;
    for (const name of readdirSync(dir).filter((n) => n.endsWith('.json'))) {
      const text = readFileSync(join(dir, name), 'utf8');
      if (agrees(text)) scanned++;
      if (agrees(JSON.stringify(JSON.parse(text)))) scanned++;
    }
    // The task state change fixtures (6, pretty and minified) take the scanner route.
    expect(scanned).toBeGreaterThanOrEqual(10);
  });

  it('on every line of the bundled recordings', () => {
    let scanned = 0;
    let lines = 0;
    for (const file of ['sample-recording.jsonl', 'demo-scenario.jsonl']) {
      const text = readFileSync(join(repoDir, 'packages', 'controller', 'fixtures', file), 'utf8');
      for (const line of text.split('\n')) {
        if (line.trim() === '') continue;
        lines++;
        if (agrees(line)) scanned++;
      }
    }
    expect(lines).toBeGreaterThan(50);
    expect(scanned).toBeGreaterThan(20);
  });

  it('with every field it reads set to every JSON type, or removed', () => {
    const event = base();
    const detail = detailOf(event);
    const paths: (string | number)[][] = [
      ['id'],
      ['time'],
      ['source'],
      ['detail-type'],
      ['detail'],
      ['Type'],
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
    let scanned = 0;
    let cases = 0;
    for (const path of paths) {
      for (const value of [...VALUES, undefined]) {
        cases++;
        if (agrees(JSON.stringify(withValue(event, path, value)))) scanned++;
      }
    }
    // Bindings: bridge-mode shapes, with every field of the first binding varied.
    const bindingEvent = withValue(
      event,
      ['detail', 'containers', 0, 'networkBindings'],
      [{ bindIP: '0.0.0.0', containerPort: 80, hostPort: 32768, protocol: 'tcp' }],
    );
    for (const field of ['bindIP', 'containerPort', 'hostPort', 'protocol']) {
      for (const value of [...VALUES, 65536, 443, 'TCP', undefined]) {
        cases++;
        const path = ['detail', 'containers', 0, 'networkBindings', 0, field];
        if (agrees(JSON.stringify(withValue(bindingEvent, path, value)))) scanned++;
      }
    }
    expect(cases).toBeGreaterThan(1000);
    // Most variations stay valid events of the scanned kind; the test is only worth it if they
    // really went through the scanner.
    expect(scanned).toBeGreaterThan(cases / 2);
  });

  it('with duplicate keys (the last one wins, as in JSON.parse), reordered members and white space', () => {
    const text = JSON.stringify(base());
    const cases: [string, boolean][] = [
      [text.replace('"version":4', '"version":1,"version":4'), true],
      [text.replace('"version":4', '"version":4,"version":1'), true],
      [text.replace('"lastStatus":"RUNNING"', '"lastStatus":"RUNNING","lastStatus":"STOPPED"'), true],
      // The last source is not aws.ecs: not a task state change, so the JSON.parse route reads it.
      [text.replace('"source":"aws.ecs"', '"source":"aws.ecs","source":"aws.elsewhere"'), false],
      [text.replace('"source":"aws.ecs"', '"source":"other","source":"aws.ecs"'), true],
      [text.replace('{"version":"0"', '{"detail":{},"version":"0"'), true],
      [text.replace(/,"/g, ' ,\n\t"').replace(/":/g, '" : '), true],
      [`  \r\n${text}\n  `, true],
      [JSON.stringify(Object.fromEntries(Object.entries(base()).reverse())), true],
    ];
    for (const [variant, scanned] of cases) expect(agrees(variant), variant).toBe(scanned);
  });

  it('declines what it does not read itself, and the JSON.parse route reads it', () => {
    const text = JSON.stringify(base());
    const declined = [
      text.replace('"RUNNING"', '"RUNN\\u0049NG"'), // an escape
      text.replace('"RUNNING"', '"RUNNINGé"'), // non-ASCII
      text.replace('"detail-type":"ECS Task State Change"', '"detail-type":"ECS Service Action"'),
      fixtureJson('events/sns-task-state-change.json'),
      JSON.stringify({ ...base(), Type: 'Notification' }),
      `[${text}]`,
      JSON.stringify({ a: JSON.parse(`${'['.repeat(70)}${']'.repeat(70)}`) as unknown, ...base() }),
    ].map((t) => (typeof t === 'string' ? t : JSON.stringify(t)));
    for (const variant of declined) {
      expect(readTaskEvent(variant)).toBeUndefined();
      agrees(variant);
    }
  });

  it('on 3,000 random corruptions of a task event (invalid JSON included): same result or same error', () => {
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
    const next = seededRandom(0x1234567);
    let scanned = 0;
    let valid = 0;
    for (let i = 0; i < 3_000; i++) {
      const at = next(text.length);
      const char = alphabet[next(alphabet.length)]!;
      const variant =
        i % 3 === 0
          ? text.slice(0, at) + char + text.slice(at + 1) // replace
          : i % 3 === 1
            ? text.slice(0, at) + char + text.slice(at) // insert
            : text.slice(0, at) + text.slice(at + 1); // delete
      try {
        JSON.parse(variant);
        valid++;
      } catch {
        // invalid JSON: both routes must report it the same way
      }
      if (agrees(variant)) scanned++;
    }
    expect(valid).toBeGreaterThan(100);
    expect(scanned).toBeGreaterThan(100);
  });
});

describe('parseEventBody: what the store keeps does not keep the message text alive', () => {
  it('keeps 1,000 snapshots of 200 KB messages in well under 1,000 × 200 KB of heap', () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const padding = 'x'.repeat(200_000);
    const text = (i: number) => {
      const event = base();
      const detail = detailOf(event);
      detail.taskArn = `${detail.taskArn as string}-${i}`;
      detail.overrides = { padding };
      return JSON.stringify(event);
    };
    expect(readTaskEvent(text(0))).toBeDefined();
    gc();
    const before = process.memoryUsage().heapUsed;
    let kept: unknown[] = [];
    // Each text lives only while it is parsed, as an SQS body does.
    for (let i = 0; i < 1_000; i++) kept.push(parseEventBody(text(i)).events[0]);
    gc();
    const grown = process.memoryUsage().heapUsed - before;
    expect(kept).toHaveLength(1_000);
    // Each text is ~201 KB: keeping them would grow the heap by ~200 MB.
    expect(grown).toBeLessThan(20_000_000);
    kept = [];
  });
});

describe('parseEventBody without WebAssembly', () => {
  it('reads every body through JSON.parse, with the same results', async () => {
    vi.resetModules();
    vi.stubGlobal('WebAssembly', undefined);
    try {
      const fresh = (await import('./event-body.js')) as typeof import('./event-body.js');
      const tape = (await import('./json-tape.js')) as typeof import('./json-tape.js');
      expect(tape.jsonScannerAvailable()).toBe(false);
      const text = JSON.stringify(base());
      expect(tape.readTaskEvent(text)).toBeUndefined();
      expect(fresh.parseEventBody(text)).toEqual(parseEventBodyWithJsonParse(text));
    } finally {
      vi.unstubAllGlobals();
      vi.resetModules();
    }
  });
});
