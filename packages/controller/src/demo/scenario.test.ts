import { readFileSync } from 'node:fs';
import { ClusterStore, deriveUpstreams } from '@ecs-ingress/store';
import { parseEventBody } from '@ecs-ingress/types';
import { describe, expect, it } from 'vitest';
import { resolveRoutes } from '../routes/resolve-routes.js';
import { DEMO_SCENARIO_FILE, readScenarioLines, rewriteScenarioLine, scenarioTasks } from './scenario.js';
import { buildDemoScenario, DEMO_CLUSTER_ARN, DEMO_FINAL_IPS } from './scenario-builder.js';

describe('demo scenario', () => {
  it('the bundled file is what the builder makes', () => {
    expect(readFileSync(DEMO_SCENARIO_FILE, 'utf8')).toBe(`${buildDemoScenario().join('\n')}\n`);
  });

  it('replays to the final upstreams, dropping the duplicates and the late event', () => {
    const store = new ClusterStore();
    const outcomes: string[] = [];
    for (const line of readScenarioLines()) {
      for (const event of parseEventBody(line).events) outcomes.push(store.dispatch(event));
    }
    expect(outcomes.filter((o) => o !== 'applied')).toEqual(['duplicate', 'stale', 'duplicate']);
    const { upstreams } = deriveUpstreams(store.snapshot(), { clusterArn: DEMO_CLUSTER_ARN });
    expect(Object.fromEntries(upstreams.map((u) => [u.name, u.servers.map((s) => s.address)]))).toEqual(
      DEMO_FINAL_IPS,
    );
  });

  it('lists one task per address with its container port', () => {
    const tasks = scenarioTasks(readScenarioLines());
    expect(tasks).toHaveLength(12);
    expect(new Set(tasks.map((t) => t.ip)).size).toBe(12);
    expect(new Set(tasks.map((t) => `${t.service}:${t.port}`))).toEqual(
      new Set(['web:8080', 'api:9000', 'web-canary:8080', 'web-preview:8080']),
    );
  });

  it('publishes every service through labels: a canary of /web, a conflict on /web, a tcp route', () => {
    const store = new ClusterStore();
    for (const line of readScenarioLines()) {
      for (const event of parseEventBody(line).events) store.dispatch(event);
    }
    const { routeSources } = deriveUpstreams(store.snapshot(), { clusterArn: DEMO_CLUSTER_ARN });
    const table = resolveRoutes(
      routeSources.map((s) => ({ name: s.service, createdAt: 0, labels: s.labels })),
      { tcpPorts: [{ from: 15432, to: 15432 }] },
    );
    expect(table.reports.map((r) => `${r.service}/${r.kind}/${r.route} ${r.state}`)).toEqual([
      'api/http/default active',
      'api/tcp/raw active',
      'web/http/default active',
      'web-canary/http/default active',
      'web-preview/http/default conflict',
    ]);
    expect(table.hosts.map((h) => h.host)).toEqual(['127.0.0.1', 'localhost']);
    expect(table.hosts[0]?.locations.find((l) => l.path === '/web')?.canary).toMatchObject({
      service: 'web-canary',
      weight: 20,
    });
  });

  it.each([
    {
      field: 'an ENI address',
      line: '{"detail":{"attachments":[{"details":[{"value":"192.0.2.11"}]}]}}',
      out: '127.0.0.11',
    },
    {
      field: 'a container port',
      line: '{"detail":{"portMappings":[{"containerPort":8080}]}}',
      out: '"containerPort":40000',
    },
    { field: 'a host port', line: '{"networkBindings":[{"hostPort":8080}]}', out: '"hostPort":40000' },
  ])('rewrites $field and nothing else', ({ line, out }) => {
    const map = {
      ips: new Map([['192.0.2.11', '127.0.0.11']]),
      ports: new Map([[8080, 40000]]),
      strings: new Map([['15432', '40001']]),
    };
    expect(rewriteScenarioLine(line, map)).toContain(out);
    expect(rewriteScenarioLine('{"version":8080,"id":"192.0.2.12","n":15432,"s":"154321"}', map)).toBe(
      '{"version":8080,"id":"192.0.2.12","n":15432,"s":"154321"}',
    );
  });

  it('rewrites the tcp route listen placeholder (a whole string value)', () => {
    const map = { ips: new Map(), ports: new Map(), strings: new Map([['15432', '40001']]) };
    expect(rewriteScenarioLine('{"ecs-ingress.tcp.raw.listen":"15432"}', map)).toBe(
      '{"ecs-ingress.tcp.raw.listen":"40001"}',
    );
  });
});
