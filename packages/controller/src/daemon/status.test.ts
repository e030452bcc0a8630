import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { emptyState } from '@ecs-ingress/store';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PushedEndpoints } from '../dynamic/dynamic-applier.js';
import { type DaemonProgress, daemonStatus } from './status.js';

let tmp: string;
beforeEach(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'ecs-ingress-status-'));
});
afterEach(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const HTTP =
  'upstream web {\n    server 0.0.0.1:1; # placeholder\n    balancer_by_lua_block { ecs_ingress.balance() }\n}\n';
const STREAM = 'upstream tcp-echo {\n    server 10.0.0.9:7000;\n}\n';

async function status(options: { dynamic: boolean; pushed?: readonly PushedEndpoints[] | undefined }) {
  const httpFile = join(tmp, 'upstreams.http.conf');
  const streamFile = join(tmp, 'upstreams.stream.conf');
  await writeFile(httpFile, HTTP);
  await writeFile(streamFile, STREAM);
  const progress: DaemonProgress = { phase: 'running' };
  if ('pushed' in options) progress.pushedEndpoints = () => options.pushed;
  return daemonStatus({
    progress,
    state: emptyState,
    cluster: 'c',
    upstreamsFile: httpFile,
    ...(options.dynamic ? { dynamicFiles: [streamFile] } : {}),
  });
}

describe('daemonStatus /debug/upstreams', () => {
  it('reload mode: the upstreams file as it is', async () => {
    expect(await (await status({ dynamic: false })).debugUpstreams()).toBe(HTTP);
  });

  it("dynamic mode: the rendered files, then each service's pushed endpoint set with its version", async () => {
    const text = await (
      await status({
        dynamic: true,
        pushed: [
          { service: 'api', endpoints: [], version: 4 },
          { service: 'web', endpoints: ['10.0.0.1:8080', '10.0.0.2:8080'], version: 7 },
        ],
      })
    ).debugUpstreams();
    expect(text).toContain(`upstreams.http.conf <==\n${HTTP}`);
    expect(text).toContain(`upstreams.stream.conf <==\n${STREAM}`);
    expect(text).toContain('# web: endpoints pushed (version 7)\n10.0.0.1:8080\n10.0.0.2:8080\n');
    expect(text).toContain('# api: endpoints pushed (version 4)\n# (no endpoint: requests to it fail)\n');
    expect(text.indexOf('upstreams.stream.conf')).toBeLessThan(text.indexOf('endpoints pushed'));
  });

  it.each([
    ['before NGINX runs', undefined, '# none yet: NGINX is not running'],
    ['before the first push', [], '# none yet\n'],
  ])('dynamic mode %s says so', async (_when, pushed, expected) => {
    const text = await (await status({ dynamic: true, pushed })).debugUpstreams();
    expect(text).toContain(expected);
    expect(text).not.toContain('endpoints pushed (version');
  });
});

describe('daemonStatus probes', () => {
  const probes = (progress: DaemonProgress) =>
    daemonStatus({ progress, state: emptyState, cluster: 'c', upstreamsFile: join(tmp, 'none') });

  it.each<[string, DaemonProgress, boolean, string]>([
    ['waiting for the first sync', { phase: 'waiting-for-first-sync' }, false, 'waiting-for-first-sync'],
    [
      'serving last known good, sync under way',
      { phase: 'serving-last-known-good' },
      false,
      'serving-last-known-good',
    ],
    [
      'serving last known good, AWS unreachable',
      { phase: 'serving-last-known-good', lastSyncError: 'ECS_INGRESS_AWS_UNAVAILABLE' },
      false,
      'serving-last-known-good-aws-unreachable',
    ],
    [
      'sync in, its config not live yet',
      { phase: 'applying-first-sync', firstSyncAt: 1 },
      false,
      'applying-first-sync',
    ],
    ['serving the sync', { phase: 'running', firstSyncAt: 1, configAppliedAt: 2 }, true, 'running'],
  ])('%s: /readyz %s with its phase; /healthz 200', async (_what, progress, ready, phase) => {
    const s = probes(progress);
    const readyz = await s.readyz();
    expect(readyz.ok).toBe(ready);
    expect(readyz.details).toMatchObject({ phase });
    const healthz = await s.healthz();
    expect(healthz.ok).toBe(true);
    expect(healthz.details).toMatchObject({ phase });
  });

  it('names the failing sync in /readyz', async () => {
    const readyz = await probes({
      phase: 'serving-last-known-good',
      lastSyncError: 'ECS_INGRESS_AWS_THROTTLED',
    }).readyz();
    expect(readyz.details).toMatchObject({ lastSyncError: 'ECS_INGRESS_AWS_THROTTLED' });
  });
});
