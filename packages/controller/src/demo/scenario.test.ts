import { readFileSync } from 'node:fs';
import { ClusterStore, deriveUpstreams } from '@ecs-ingress/store';
import { parseEventBody } from '@ecs-ingress/types';
import { describe, expect, it } from 'vitest';
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
    expect(tasks).toHaveLength(10);
    expect(new Set(tasks.map((t) => t.ip)).size).toBe(10);
    expect(new Set(tasks.map((t) => `${t.service}:${t.port}`))).toEqual(new Set(['web:8080', 'api:9000']));
  });

  it.each([
    {
      field: 'an ENI address',
      line: '{"detail":{"attachments":[{"details":[{"value":"10.0.1.11"}]}]}}',
      out: '127.0.0.11',
    },
    {
      field: 'a container port',
      line: '{"detail":{"portMappings":[{"containerPort":8080}]}}',
      out: '"containerPort":40000',
    },
    { field: 'a host port', line: '{"networkBindings":[{"hostPort":8080}]}', out: '"hostPort":40000' },
  ])('rewrites $field and nothing else', ({ line, out }) => {
    const map = { ips: new Map([['10.0.1.11', '127.0.0.11']]), ports: new Map([[8080, 40000]]) };
    expect(rewriteScenarioLine(line, map)).toContain(out);
    expect(rewriteScenarioLine('{"version":8080,"id":"10.0.1.12"}', map)).toBe(
      '{"version":8080,"id":"10.0.1.12"}',
    );
  });
});
