import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PushedEndpoints } from '../dynamic/dynamic-applier.js';
import { emptyState } from '../store/state.js';
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
