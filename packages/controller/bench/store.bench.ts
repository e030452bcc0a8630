/**
 * The store's hot paths on synthetic clusters (issue 15's figures):
 *
 *   pnpm bench store.bench.ts     (compiled, with the image's node flags: scripts/bench.mjs)
 *
 * 1. parse + store events/s, in batches of 10 (what one SQS receive brings): the JSON text of an
 *    `ECS Task State Change` (synthetic-events.ts, ~1.85 KB) → `parseEventBody` →
 *    `ClusterStore.dispatchBatch` (one immer `produce` per batch), at 1,000 services / 10,000
 *    tasks and at 5,000 services / 50,000 tasks, over a churn of task replacements with 1 event in
 *    20 redelivered and 1 in 50 out of order. Only parse and dispatch are timed. Each batch's texts
 *    are also parsed by `JSON.parse` alone, timed apart, interleaved with the timed work: the
 *    machine's speed at that moment (this shared VM's speed varies by ±20 % within minutes).
 * 2. one task change at 5,000 services / 50,000 tasks: after one event (a RUNNING task drains, or
 *    its replacement comes up), derive + render + hash with the memoised deriver and renderer the
 *    runtime uses (`createUpstreamDeriver`: only the changed service is derived again;
 *    `createUpstreamsRenderer`: only its block is rendered again; the whole file is hashed).
 * 3. derive + render + hash from scratch at 10,000 tasks: a fresh deriver and fresh `Upstream`
 *    objects every run, so nothing is remembered.
 * Targets (issue 15): >= 20,000 and >= 5,000 events/s; <= 10 ms; <= 20 ms p99.
 */
import { cpus, loadavg } from 'node:os';
import { createUpstreamsRenderer, renderUpstreams } from '@ecs-ingress/renderer';
import { ClusterStore, createUpstreamDeriver, deriveUpstreams, taskCount } from '@ecs-ingress/store';
import { formatObservationLine, parseEventBody } from '@ecs-ingress/types';
import { ACCOUNT, churn, newTask, REGION, T0, type Task, taskEventText } from './synthetic-events.js';

/** Texts made, parsed and dispatched at a time: an SQS receive brings at most 10 messages. */
const BATCH = 10;
const CHANGE_RUNS = 200;
const SCRATCH_RUNS = 100;

const fmt = (n: number, digits = 1) => n.toFixed(digits);
/** A full GC between phases (needs `node --expose-gc`), so one phase's garbage is not the next one's pause. */
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});

function percentile(sorted: readonly number[], p: number): number {
  const index = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, index)] as number;
}

function stats(values: number[]): { median: number; p99: number; max: number } {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    median: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted[sorted.length - 1] ?? 0,
  };
}

interface Feed {
  events: number;
  parseNs: number;
  dispatchNs: number;
  jsonParseNs: number;
  outcomes: Record<string, number>;
}

const newFeed = (): Feed => ({ events: 0, parseNs: 0, dispatchNs: 0, jsonParseNs: 0, outcomes: {} });

/** Takes `count` texts from `source` in batches of BATCH: JSON.parse alone, then parse + dispatch. */
function feed(store: ClusterStore, source: Iterator<string>, count: number, into: Feed): void {
  for (let done = 0; done < count; ) {
    const texts: string[] = [];
    for (let i = 0; i < BATCH && done < count; i++, done++) texts.push(source.next().value as string);
    const t0 = process.hrtime.bigint();
    const plain = texts.map((text) => JSON.parse(text) as unknown);
    const t1 = process.hrtime.bigint();
    const events = texts.flatMap((text) => parseEventBody(text).events);
    const t2 = process.hrtime.bigint();
    const result = store.dispatchBatch(events);
    const t3 = process.hrtime.bigint();
    if (plain.length !== texts.length) throw new Error('unreachable');
    into.jsonParseNs += Number(t1 - t0);
    into.parseNs += Number(t2 - t1);
    into.dispatchNs += Number(t3 - t2);
    into.events += events.length;
    for (const outcome of result.outcomes) into.outcomes[outcome] = (into.outcomes[outcome] ?? 0) + 1;
  }
}

/** The machine's speed now: `JSON.parse` alone of 2,000 more churn texts, µs per text. */
function calibrate(source: Iterator<string>): number {
  let ns = 0;
  for (let i = 0; i < 200; i++) {
    const texts: string[] = [];
    for (let k = 0; k < BATCH; k++) texts.push(source.next().value as string);
    const t0 = process.hrtime.bigint();
    for (const text of texts) JSON.parse(text);
    ns += Number(process.hrtime.bigint() - t0);
  }
  return ns / 1e3 / 2_000;
}

/** A store with one task definition per service and every task RUNNING; returns the live tasks. */
function populate(store: ClusterStore, services: number, tasksPerService: number): Task[] {
  for (let s = 0; s < services; s++) {
    const line = formatObservationLine(
      'Task Definition',
      {
        taskDefinitionArn: `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/svc-${s}:1`,
        family: `svc-${s}`,
        revision: 1,
        networkMode: 'awsvpc',
        containerDefinitions: [
          { name: 'app', image: 'x', portMappings: [{ containerPort: 8080, protocol: 'tcp' }] },
        ],
      },
      T0,
    );
    store.dispatchBatch(parseEventBody(line).events);
  }
  const live: Task[] = [];
  for (let s = 0; s < services; s++) for (let i = 0; i < tasksPerService; i++) live.push(newTask(s));
  const texts = live.map((task) => taskEventText(task, 'RUNNING', 'RUNNING', 4, T0 + 1_000));
  feed(store, texts.values(), texts.length, newFeed());
  return live;
}

function throughputLine(label: string, f: Feed, target: number): string {
  const seconds = (f.parseNs + f.dispatchNs) / 1e9;
  const perSecond = f.events / seconds;
  const jsonUs = f.jsonParseNs / 1e3 / f.events;
  return [
    `  ${label}: parse + store ${fmt(perSecond, 0)} events/s (parse ${fmt(f.parseNs / 1e3 / f.events, 2)} µs, store ${fmt(f.dispatchNs / 1e3 / f.events, 2)} µs per event)   target >= ${target}${perSecond < target ? '   BELOW TARGET' : ''}`,
    `    JSON.parse alone of the same texts: ${fmt(jsonUs, 2)} µs/event (${fmt(1e6 / jsonUs, 0)} events/s); outcomes ${JSON.stringify(f.outcomes)}`,
  ].join('\n');
}

const lines: string[] = [
  `store.bench: batches of ${BATCH}; machine: ${cpus().length} x ${cpus()[0]?.model ?? '?'}, node ${process.version}, load average ${loadavg()
    .map((n) => fmt(n, 2))
    .join(' ')}, node flags ${process.execArgv.join(' ') || '(none)'}`,
];
const print = (line: string) => {
  lines.push(line);
  process.stdout.write(`${line}\n`);
};
process.stdout.write(`${lines[0]}\n`);

// ---- 1,000 services / 10,000 tasks ----------------------------------------------------------------
{
  const store = new ClusterStore();
  const live = populate(store, 1_000, 10);
  const events = churn(live, 0x2545f491);
  feed(store, events, 20_000, newFeed()); // warm-up
  const f = newFeed();
  feed(store, events, 100_000, f);
  print(throughputLine('1,000 services / 10,000 tasks, 100,000 churn events', f, 20_000));

  // Derive + render + hash from scratch: a fresh deriver each run, so fresh `Upstream` objects and
  // no renderer cache hit.
  const state = store.snapshot();
  gc();
  const deriveMs: number[] = [];
  const totals: number[] = [];
  let rendered = renderUpstreams(deriveUpstreams(state).upstreams);
  const before = calibrate(events);
  for (let run = 0; run < SCRATCH_RUNS; run++) {
    const t0 = performance.now();
    const derived = deriveUpstreams(state);
    const t1 = performance.now();
    rendered = renderUpstreams(derived.upstreams);
    deriveMs.push(t1 - t0);
    totals.push(performance.now() - t0);
  }
  const s = stats(totals);
  print(
    `  derive + render + hash from scratch, ${taskCount(state)} tasks (${rendered.upstreamCount} upstreams, ${rendered.serverCount} servers, ${fmt(rendered.text.length / 1024, 0)} KB): median ${fmt(s.median, 2)} ms, p99 ${fmt(s.p99, 2)} ms over ${SCRATCH_RUNS} runs (derive median ${fmt(stats(deriveMs).median, 2)} ms)   target p99 <= 20${s.p99 > 20 ? '   BELOW TARGET' : ''}`,
  );
  print(
    `    JSON.parse alone of 2,000 churn texts just before / after: ${fmt(before, 2)} / ${fmt(calibrate(events), 2)} µs/event`,
  );
}

// ---- 5,000 services / 50,000 tasks ----------------------------------------------------------------
{
  gc();
  const store = new ClusterStore();
  const live = populate(store, 5_000, 10);
  const events = churn(live, 0x9e3779b9);
  feed(store, events, 10_000, newFeed()); // warm-up
  const f = newFeed();
  feed(store, events, 50_000, f);
  print(throughputLine('5,000 services / 50,000 tasks, 50,000 churn events', f, 5_000));

  // One task change, as the reconciler sees it: the memoised deriver, then render + hash.
  gc();
  const derive = createUpstreamDeriver();
  const render = createUpstreamsRenderer();
  let rendered = render(derive(store.snapshot()).upstreams);
  const deriveMs: number[] = [];
  const renderMs: number[] = [];
  const totalMs: number[] = [];
  const change = newFeed();
  const before = calibrate(events);
  for (let run = 0; run < CHANGE_RUNS; run++) {
    feed(store, events, 1, change);
    const state = store.snapshot();
    const t0 = performance.now();
    const derived = derive(state);
    const t1 = performance.now();
    rendered = render(derived.upstreams);
    const t2 = performance.now();
    deriveMs.push(t1 - t0);
    renderMs.push(t2 - t1);
    totalMs.push(t2 - t0);
  }
  const total = stats(totalMs);
  print(
    `  one task change at ${taskCount(store.snapshot())} tasks (${rendered.upstreamCount} upstreams, ${fmt(rendered.text.length / 1024, 0)} KB file): derive + render + hash median ${fmt(total.median, 2)} ms, p99 ${fmt(total.p99, 2)} ms, max ${fmt(total.max, 2)} ms over ${CHANGE_RUNS} changes (derive median ${fmt(stats(deriveMs).median, 2)} ms, render + hash median ${fmt(stats(renderMs).median, 2)} ms)   target <= 10${total.median > 10 ? '   BELOW TARGET' : ''}`,
  );
  print(
    `    JSON.parse alone of 2,000 churn texts just before / after: ${fmt(before, 2)} / ${fmt(calibrate(events), 2)} µs/event`,
  );
}

print(
  `  peak RSS of the whole run: ${fmt(process.resourceUsage().maxRSS / 1024, 0)} MB (not a target here: the daemon's RSS is measured by the daemon)`,
);
