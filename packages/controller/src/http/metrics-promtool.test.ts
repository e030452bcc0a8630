/**
 * The /metrics exposition, served by the real HTTP server after every metric was exercised, must
 * pass `promtool check metrics` (Debian's `prometheus` package): the FULL scrape, Node's default
 * metrics included (prom-client's `_total` gauges are dropped for it, see DROPPED_DEFAULT_METRICS).
 */

import { findOnPath } from '@ecs-ingress/testkit/e2e';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exerciseMetrics } from '../test-support/exercise-metrics.js';
import { createMetrics, DROPPED_DEFAULT_METRICS, type Metrics } from './metrics.js';
import { type HttpServer, startHttpServer } from './server.js';

const promtool = findOnPath('promtool');

/** promtool's lint lines (it prints them on stderr, one per problem, exit code 3), split by ours/others. */
async function checkMetrics(
  exposition: string,
): Promise<{ ours: string[]; others: string[]; exitCode: number }> {
  const result = await execa(promtool as string, ['check', 'metrics'], {
    input: exposition,
    reject: false,
    timeout: 20_000,
  });
  const lines = `${result.stdout}\n${result.stderr}`.split('\n').filter((l) => l.trim() !== '');
  return {
    ours: lines.filter((l) => l.includes('ecs_ingress')),
    others: lines.filter((l) => !l.includes('ecs_ingress')),
    exitCode: result.exitCode ?? -1,
  };
}

describe.skipIf(!promtool)('promtool check metrics on /metrics', () => {
  let metrics: Metrics;
  let server: HttpServer;
  let exposition: string;

  beforeAll(async () => {
    metrics = createMetrics();
    exerciseMetrics(metrics);
    server = await startHttpServer({
      host: '127.0.0.1',
      port: 0,
      metrics,
      status: {
        healthz: () => ({ ok: true, details: {} }),
        readyz: () => ({ ok: true, details: {} }),
        debugState: () => ({}),
        debugUpstreams: () => '',
      },
    });
    const res = await fetch(`${server.url}/metrics`);
    expect(res.status).toBe(200);
    exposition = await res.text();
  });
  afterAll(async () => {
    await server?.close();
  });

  it('exercised every ecs_ingress metric (each has at least one sample)', async () => {
    const names = (await metrics.registry.getMetricsAsJSON())
      .map((m) => m.name)
      .filter((n) => n.startsWith('ecs_ingress_'));
    // Every member of Metrics but `registry` is a metric on the registry.
    expect(names).toHaveLength(Object.keys(metrics).length - 1);
    const sampleLines = exposition.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
    const hasSample = (name: string) => {
      const sample = new RegExp(`^${name}(_bucket|_sum|_count)?[{ ]`);
      return sampleLines.some((l) => sample.test(l));
    };
    const missing = names.filter((n) => !hasSample(n));
    expect(missing, 'metrics without a sample: add them to exerciseMetrics').toEqual([]);
  });

  it('passes on the full scrape: no problem for any metric, ours or Node’s defaults, exit 0', async () => {
    const { ours, others, exitCode } = await checkMetrics(exposition);
    expect(ours).toEqual([]);
    expect(others).toEqual([]);
    expect(exitCode).toBe(0);
  });

  it('includes Node’s default metrics, without the _total gauges promtool refuses', () => {
    expect(exposition).toMatch(/^process_cpu_user_seconds_total /m);
    expect(exposition).toMatch(/^nodejs_heap_size_total_bytes /m);
    expect(exposition).toMatch(/^nodejs_active_handles\{/m);
    for (const name of DROPPED_DEFAULT_METRICS) expect(exposition).not.toContain(name);
  });

  it('would catch a badly named ecs_ingress metric (the check can fail)', async () => {
    const bad = [
      '# HELP ecs_ingress_reloads A counter without the _total suffix.',
      '# TYPE ecs_ingress_reloads counter',
      'ecs_ingress_reloads 1',
      '',
    ].join('\n');
    const { ours, exitCode } = await checkMetrics(bad);
    expect(exitCode).not.toBe(0);
    expect(ours.join('\n')).toContain('ecs_ingress_reloads');
  });
});

describe.runIf(!promtool)('promtool is missing', () => {
  it('skips the exposition lint (apt-get install prometheus)', () => {
    expect(promtool).toBeUndefined();
  });
});
