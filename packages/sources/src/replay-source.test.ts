import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { formatObservationLine } from '@ecs-ingress/types';
import { lastValueFrom, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import {
  type PacedLine,
  paceRecording,
  parseRecordingLine,
  type ReplayLine,
  readRecording,
  replayRecording$,
} from './replay-source.js';

const PROD = 'arn:aws:ecs:us-east-1:111122223333:cluster/prod';
const STAGING = 'arn:aws:ecs:us-east-1:111122223333:cluster/staging';
const OTHER_ACCOUNT_PROD = 'arn:aws:ecs:us-east-1:444455556666:cluster/prod';

/** A minimal ECS Task State Change event line. */
function taskLine(clusterArn: string, time: string, version = 1, id = 'a1'): string {
  return JSON.stringify({
    version: '0',
    id: `evt-${id}-${version}`,
    'detail-type': 'ECS Task State Change',
    source: 'aws.ecs',
    time,
    detail: {
      clusterArn,
      taskArn: `${clusterArn.replace(':cluster/', ':task/')}/${id.padStart(32, '0')}`,
      taskDefinitionArn: 'arn:aws:ecs:us-east-1:111122223333:task-definition/web:1',
      group: 'service:web',
      lastStatus: 'RUNNING',
      desiredStatus: 'RUNNING',
      version,
      containers: [],
      attachments: [],
    },
  });
}

const containerInstanceLine = formatObservationLine(
  'Container Instance',
  {
    containerInstanceArn:
      'arn:aws:ecs:us-east-1:111122223333:container-instance/prod/0000000000000000000000000000abc0',
    ec2InstanceId: 'i-0abc',
    privateIpAddress: '10.0.0.5',
  },
  Date.parse('2024-01-01T00:00:03Z'),
);

function snapshotLine(clusterArn: string, startedAt: string, lineTime: string): string {
  return JSON.stringify({
    source: 'ecs-ingress',
    'detail-type': 'Cluster Snapshot',
    time: lineTime,
    detail: { clusterArn, startedAt, tasks: [] },
  });
}

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

function streamOf(text: string): Readable {
  return Readable.from([text]);
}

describe('readRecording', () => {
  it('numbers lines like an editor: blank lines are skipped but counted, CRLF and a BOM are tolerated', async () => {
    const text = `\uFEFF${taskLine(PROD, '2024-01-01T00:00:00Z')}\r\n\r\n   \n{not json\n${containerInstanceLine}\n`;
    const lines = await collect(readRecording(streamOf(text)));
    expect(lines.map((line) => [line.lineNo, line.kind])).toEqual([
      [1, 'event'],
      [4, 'invalid'],
      [5, 'event'],
    ]);
  });

  it.each([
    ['not json', '{"source": ', 'not-json'],
    ['an array', '[1,2]', 'not-an-object'],
    ['no detail-type', '{"source":"aws.ecs","detail":{}}', 'missing-field:detail-type'],
    [
      'unknown observation',
      '{"source":"ecs-ingress","detail-type":"Nope","detail":{}}',
      'unknown-observation-type',
    ],
  ])('reports %s with its line number, reason and raw text, then goes on', async (_name, junk, reason) => {
    const good = taskLine(PROD, '2024-01-01T00:00:00Z');
    const lines = await collect(readRecording(streamOf(`${good}\n${junk}\n${good}\n`)));
    expect(lines).toHaveLength(3);
    const bad = lines[1];
    expect(bad?.kind).toBe('invalid');
    if (bad?.kind !== 'invalid') throw new Error('unreachable');
    expect(bad.lineNo).toBe(2);
    expect(bad.error.reason).toBe(reason);
    expect(bad.raw).toBe(junk);
    expect(lines[2]?.kind).toBe('event');
  });

  it('reads a file by path, numbering its lines', async () => {
    // (The controller's replay tests read the repository's sample recording the same way.)
    const dir = mkdtempSync(join(tmpdir(), 'ecs-ingress-replay-'));
    try {
      const file = join(dir, 'recording.jsonl');
      const text = [
        taskLine(PROD, '2024-01-01T00:00:00Z'),
        containerInstanceLine,
        taskLine(PROD, '2024-01-01T00:00:01Z'),
      ];
      writeFileSync(file, `${text.join('\n')}\n`);
      const lines = await collect(readRecording(file));
      expect(lines.map((line) => line.kind)).toEqual(['event', 'event', 'event']);
      expect(lines.map((line) => line.lineNo)).toEqual([1, 2, 3]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rejects when the file does not exist', async () => {
    await expect(collect(readRecording('/nonexistent/recording.jsonl'))).rejects.toThrow(/ENOENT/);
  });
});

describe('cluster filter', () => {
  const text = [
    taskLine(PROD, '2024-01-01T00:00:00Z'),
    taskLine(STAGING, '2024-01-01T00:00:01Z'),
    taskLine(OTHER_ACCOUNT_PROD, '2024-01-01T00:00:02Z'),
    containerInstanceLine,
  ].join('\n');

  it.each([
    ['no filter', undefined, ['event', 'event', 'event', 'event']],
    [
      'a name matches the last ARN segment in any account',
      'prod',
      ['event', 'other-cluster', 'event', 'event'],
    ],
    ['an ARN matches exactly', PROD, ['event', 'other-cluster', 'other-cluster', 'event']],
    ['another name', 'staging', ['other-cluster', 'event', 'other-cluster', 'event']],
    [
      'an unknown cluster keeps only cluster-less lines',
      'dev',
      ['other-cluster', 'other-cluster', 'other-cluster', 'event'],
    ],
  ])('%s', async (_name, cluster, kinds) => {
    const options = cluster === undefined ? {} : { cluster };
    const lines = await collect(readRecording(streamOf(text), options));
    expect(lines.map((line) => line.kind)).toEqual(kinds);
  });
});

describe('recorded clock', () => {
  it.each([
    ['an event: envelope time', taskLine(PROD, '2024-01-01T00:00:07Z'), Date.parse('2024-01-01T00:00:07Z')],
    ['an observation: envelope time', containerInstanceLine, Date.parse('2024-01-01T00:00:03Z')],
    [
      'a snapshot: startedAt, not the time the line was written',
      snapshotLine(PROD, '2024-01-01T00:00:01Z', '2024-01-01T00:00:09Z'),
      Date.parse('2024-01-01T00:00:01Z'),
    ],
  ])('%s', (_name, line, expected) => {
    const parsed = parseRecordingLine(line, 1);
    expect(parsed.kind).toBe('event');
    expect(parsed.kind !== 'invalid' && parsed.at).toBe(expected);
  });
});

describe('paceRecording', () => {
  const at = (second: number) => `2024-01-01T00:00:${String(second).padStart(2, '0')}Z`;
  const recording = [
    taskLine(PROD, at(0), 1),
    taskLine(PROD, at(10), 2),
    '{junk',
    // Out of order: older than the clock; released at once, the clock does not rewind.
    taskLine(PROD, at(4), 3),
    taskLine(PROD, at(12), 4),
  ].join('\n');

  async function paced(speed: number | 'instant', maxGapMs?: number) {
    const sleeps: number[] = [];
    const sleep = async (ms: number) => {
      sleeps.push(ms);
    };
    const options = maxGapMs === undefined ? { speed, sleep } : { speed, sleep, maxGapMs };
    const lines: PacedLine[] = await collect(paceRecording(readRecording(streamOf(recording)), options));
    return { sleeps, lines };
  }

  it.each([
    ['recorded pace', 1, [10_000, 2_000]],
    ['four times faster', 4, [2_500, 500]],
    ['half speed', 0.5, [20_000, 4_000]],
    ['instant', 'instant' as const, []],
  ])('%s waits between recorded times and never for an older line', async (_name, speed, expected) => {
    const { sleeps, lines } = await paced(speed);
    expect(sleeps).toEqual(expected);
    expect(lines.map((line) => line.lineNo)).toEqual([1, 2, 3, 4, 5]);
  });

  it('exposes the replay clock as the high-water mark of recorded times', async () => {
    const { lines } = await paced('instant');
    expect(lines.map((line) => line.clock && new Date(line.clock).toISOString())).toEqual([
      '2024-01-01T00:00:00.000Z',
      '2024-01-01T00:00:10.000Z',
      '2024-01-01T00:00:10.000Z',
      '2024-01-01T00:00:10.000Z',
      '2024-01-01T00:00:12.000Z',
    ]);
  });

  it('caps one wait at maxGapMs of recorded time', async () => {
    const { sleeps } = await paced(2, 3_000);
    expect(sleeps).toEqual([1_500, 1_000]);
  });

  it.each([0, -1, Number.NaN, Number.POSITIVE_INFINITY])('rejects speed %s', async (speed) => {
    await expect(paced(speed)).rejects.toThrow(RangeError);
  });

  it('stops between lines when the signal aborts', async () => {
    const controller = new AbortController();
    const seen: ReplayLine[] = [];
    const sleep = async () => controller.abort();
    for await (const line of paceRecording(readRecording(streamOf(recording)), {
      speed: 1,
      sleep,
      signal: controller.signal,
    })) {
      seen.push(line);
    }
    expect(seen.map((line) => line.lineNo)).toEqual([1]);
  });

  it('is available as an Observable', async () => {
    const lines = await lastValueFrom(
      replayRecording$(streamOf(recording), { speed: 'instant', cluster: 'staging' }).pipe(toArray()),
    );
    expect(lines.map((line) => line.kind)).toEqual([
      'other-cluster',
      'other-cluster',
      'invalid',
      'other-cluster',
      'other-cluster',
    ]);
  });
});
