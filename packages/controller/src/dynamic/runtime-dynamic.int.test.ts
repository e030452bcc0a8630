/** `startRuntime({ upstreamMode: 'dynamic' })` with a real NGINX + Lua: the daemon's own wiring. */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BackendFleet, freePort, startBackendFleet } from '@ecs-ingress/testkit/net';
import { HAS_LUA_MODULES, nginxTestConf } from '@ecs-ingress/testkit/nginx';
import type { Upstream } from '@ecs-ingress/types';
import { BehaviorSubject } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { type Runtime, startRuntime } from '../runtime/runtime.js';
import { upstreamOf } from '../test-support/dynamic-stack.js';

async function body(port: number, path: string): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  expect(res.status).toBe(200);
  return res.text();
}

describe.skipIf(!HAS_LUA_MODULES)('startRuntime in dynamic upstream mode', () => {
  let runtime: Runtime<readonly Upstream[]> | undefined;
  let fleet: BackendFleet | undefined;
  let prefix: string | undefined;
  afterEach(async () => {
    await runtime?.stop();
    await fleet?.close();
    if (prefix !== undefined) await rm(prefix, { recursive: true, force: true });
    runtime = undefined;
    fleet = undefined;
  });

  it('serves after the first push, then follows endpoint changes without a reload', async () => {
    fleet = await startBackendFleet([
      { name: 'a', host: '127.0.0.2' },
      { name: 'b', host: '127.0.0.3' },
    ]);
    const [a, b] = fleet.backends.map((backend) => backend.endpoint);
    prefix = await mkdtemp(join(tmpdir(), 'ecs-ingress-rtdyn-'));
    await mkdir(join(prefix, 'tmp'));
    const httpPort = await freePort();
    const controlPort = await freePort();
    const files = {
      http: join(prefix, 'upstreams.conf'),
      preamble: join(prefix, 'ecs-ingress-dynamic.conf'),
      stream: join(prefix, 'stream-upstreams.conf'),
    };
    const configFile = join(prefix, 'nginx.conf');
    await writeFile(
      configFile,
      nginxTestConf({
        modules: ['lua'],
        workerConnections: 64,
        tempDir: 'tmp',
        httpIncludes: [files.preamble, files.http],
        http: `  server { listen 127.0.0.1:${httpPort}; location /web/ { proxy_pass http://web; } }`,
      }),
    );
    const store = { state$: new BehaviorSubject<readonly Upstream[]>([upstreamOf('web', [a ?? ''])]) };
    const reloads: number[] = [];
    runtime = startRuntime<readonly Upstream[]>({
      nginx: { configFile, prefix },
      upstreamsFile: files.http,
      store,
      derive: (upstreams) => ({ upstreams }),
      debounce: { minMs: 0, maxMs: 10 },
      upstreamMode: 'dynamic',
      dynamic: {
        preambleFile: files.preamble,
        streamUpstreamsFile: files.stream,
        controlListen: `127.0.0.1:${controlPort}`,
      },
    });
    runtime.runner.onEvent((event) => {
      if (event.type === 'reloaded') reloads.push(event.durationMs);
    });
    await runtime.ready;
    // `ready` came after the push: the very first request is routed.
    expect(await body(httpPort, '/web/')).toBe('a');
    const workers = await runtime.runner.workerPids();

    store.state$.next([upstreamOf('web', [b ?? ''])]);
    await runtime.flush();
    expect(await body(httpPort, '/web/')).toBe('b');
    expect(await runtime.runner.workerPids()).toEqual(workers);
    expect(reloads).toEqual([]);
    expect(runtime.liveUpstreams()).toEqual([upstreamOf('web', [b ?? ''])]);
  });
});
