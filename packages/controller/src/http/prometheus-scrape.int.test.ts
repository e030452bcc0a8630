/**
 * A real Prometheus (Debian's `prometheus` package) scrapes the controller's /metrics on loopback,
 * and the series are read back through Prometheus's HTTP API: proves the exposition is parsed by
 * the real thing, with the names, labels and values the tests recorded.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findOnPath } from '@ecs-ingress/testkit/e2e';
import { eventually, freePort } from '@ecs-ingress/testkit/net';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ExercisedValues, exerciseMetrics } from '../test-support/exercise-metrics.js';
import { createMetrics, type Metrics } from './metrics.js';
import { type HttpServer, startHttpServer } from './server.js';

const prometheusBin = findOnPath('prometheus');

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** `eventually` at Prometheus's pace: every 250 ms, at most `attempts` times. */
const poll = <T>(what: string, probe: () => Promise<T | undefined>, attempts = 120): Promise<T> =>
  eventually(what, probe, { rounds: attempts, intervalMs: 250 });

interface VectorSample {
  metric: Record<string, string>;
  value: [number, string];
}

describe.skipIf(!prometheusBin)('a real Prometheus scrapes /metrics', () => {
  let metrics: Metrics;
  let expected: ExercisedValues;
  let server: HttpServer;
  let dir: string;
  const prometheusOptions = { reject: false, all: true, buffer: false } as const;
  let prometheus: ReturnType<typeof execa<typeof prometheusOptions>> | undefined;
  let promUrl: string;
  let output = '';

  async function query(expr: string): Promise<VectorSample[]> {
    const res = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(expr)}`);
    const body = (await res.json()) as {
      status: string;
      data?: { resultType: string; result: VectorSample[] };
    };
    if (body.status !== 'success' || body.data?.resultType !== 'vector') {
      throw new Error(`query ${expr} failed: ${JSON.stringify(body)}`);
    }
    return body.data.result;
  }

  /** `{ labelValue: number }` of a query, keyed by one label. */
  async function byLabel(expr: string, label: string): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const s of await query(expr)) out[s.metric[label] ?? ''] = Number(s.value[1]);
    return out;
  }

  async function startPrometheus(): Promise<void> {
    for (let attempt = 1; attempt <= 3; attempt += 1) {
      const port = await freePort();
      promUrl = `http://127.0.0.1:${port}`;
      output = '';
      const child = execa(
        prometheusBin as string,
        [
          `--config.file=${join(dir, 'prometheus.yml')}`,
          `--storage.tsdb.path=${join(dir, `data-${attempt}`)}`,
          `--web.listen-address=127.0.0.1:${port}`,
          '--log.level=warn',
        ],
        prometheusOptions,
      );
      child.all?.on('data', (chunk: Buffer) => {
        // Kept bounded; shown when something goes wrong.
        output = (output + chunk.toString()).slice(-8000);
      });
      let exited = false;
      void child.then(() => {
        exited = true;
      });
      const ready = await poll(
        'Prometheus to answer /-/ready',
        async () => {
          if (exited) return false;
          const res = await fetch(`${promUrl}/-/ready`);
          return res.ok ? true : undefined;
        },
        80,
      ).catch(() => false);
      if (ready) {
        prometheus = child;
        return;
      }
      child.kill('SIGKILL');
      await child;
    }
    throw new Error(`Prometheus did not start:\n${output}`);
  }

  beforeAll(async () => {
    metrics = createMetrics();
    expected = exerciseMetrics(metrics);
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
    dir = await mkdtemp(join(tmpdir(), 'ecs-ingress-prometheus-'));
    await writeFile(
      join(dir, 'prometheus.yml'),
      [
        'global:',
        '  scrape_interval: 1s',
        '  scrape_timeout: 1s',
        '  evaluation_interval: 1s',
        'scrape_configs:',
        '  - job_name: ecs-ingress',
        '    static_configs:',
        `      - targets: ['127.0.0.1:${server.port}']`,
        '',
      ].join('\n'),
    );
    await startPrometheus();
    await poll('the target to be up', async () => {
      const res = await fetch(`${promUrl}/api/v1/targets?state=active`);
      const body = (await res.json()) as { data: { activeTargets: { health: string; lastError: string }[] } };
      return body.data.activeTargets[0]?.health === 'up' ? true : undefined;
    }).catch((err: unknown) => {
      throw new Error(`target never came up; Prometheus said:\n${output}`, { cause: err });
    });
    // "up" is set by the scrape; the samples become queryable once that scrape is committed.
    await poll('the first samples', async () =>
      (await query('ecs_ingress_upstreams')).length > 0 ? true : undefined,
    );
  }, 90_000);

  afterAll(async () => {
    if (prometheus !== undefined) {
      prometheus.kill('SIGTERM');
      const exited = await Promise.race([prometheus.then(() => true), sleep(10_000).then(() => false)]);
      if (!exited) {
        prometheus.kill('SIGKILL');
        await prometheus;
      }
    }
    await server?.close();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  }, 30_000);

  it('sees the target up, with the job and instance labels of the scrape config', async () => {
    const up = await query('up{job="ecs-ingress"}');
    expect(up).toHaveLength(1);
    expect(up[0]?.metric).toMatchObject({ job: 'ecs-ingress', instance: `127.0.0.1:${server.port}` });
    expect(up[0]?.value[1]).toBe('1');
  });

  it('reads back ecs_ingress_nginx_reloads_total by result', async () => {
    expect(await byLabel('ecs_ingress_nginx_reloads_total', 'result')).toEqual(expected.reloads);
  });

  it.each<[string, string, (e: ExercisedValues) => Record<string, number>]>([
    ['ecs_ingress_upstream_servers', 'upstream', (e) => e.upstreamServers],
    ['ecs_ingress_upstreams', '', (e) => ({ '': e.upstreams })],
    ['ecs_ingress_config_hash_info', 'hash', (e) => ({ [e.configHash]: 1 })],
    ['ecs_ingress_nginx_config_test_failures_total', '', (e) => ({ '': e.configTestFailures })],
    ['sum(ecs_ingress_events_applied_total)', '', (e) => ({ '': e.eventsApplied })],
    ['ecs_ingress_sqs_messages_received_total', '', (e) => ({ '': e.sqsMessagesReceived })],
    ['ecs_ingress_source_mode', 'mode', () => ({ events: 1, polling: 0 })],
  ])('reads back %s', async (expr, label, values) => {
    expect(await byLabel(expr, label)).toEqual(values(expected));
  });

  it('reads back the histograms’ counts', async () => {
    expect(await byLabel('ecs_ingress_nginx_reload_duration_seconds_count', '')).toEqual({
      '': expected.reloads.success,
    });
    expect(await byLabel('ecs_ingress_event_to_serving_seconds_bucket{le="+Inf"}', 'le')).toEqual({
      '+Inf': expected.reloads.success,
    });
  });

  it('follows a change on the next scrapes', async () => {
    metrics.reloads.inc({ result: 'success' });
    const want = expected.reloads.success + 1;
    const seen = await poll('the new reload count', async () => {
      const v = (await byLabel('ecs_ingress_nginx_reloads_total{result="success"}', 'result')).success;
      return v === want ? v : undefined;
    });
    expect(seen).toBe(want);
  });
});

describe.runIf(!prometheusBin)('prometheus is missing', () => {
  it('skips the real-Prometheus scrape (apt-get install prometheus)', () => {
    expect(prometheusBin).toBeUndefined();
  });
});
