/**
 * `ecs-ingress demo` end to end: in-process, in both upstream modes (NGINX serves exactly the
 * scenario's final tasks, over http and the stream proxy; dynamic mode pushes web's endpoint
 * changes without a reload), and as a real controller process (`--once` exits 0 and says which
 * mode ran; SIGTERM mid-scenario quits NGINX gracefully, exits 0 and leaves no process behind).
 */
import { existsSync } from 'node:fs';
import { type CliProcess, spawnCli, tcpExchange } from '@ecs-ingress/testkit/e2e';
import { childPids, freePort, get, pidAlive, pollUntil } from '@ecs-ingress/testkit/net';
import { hasNginx } from '@ecs-ingress/testkit/nginx';
import { afterEach, describe, expect, it } from 'vitest';
import { DYNAMIC_MODE_REQUIREMENTS } from '../demo/demo-mode.js';
import { type DemoSession, startDemo } from '../demo/run-demo.js';
import { readScenarioLines, scenarioTasks } from '../demo/scenario.js';
import { DEMO_FINAL_IPS } from '../demo/scenario-builder.js';

const hasLua = DYNAMIC_MODE_REQUIREMENTS.every((r) => existsSync(r.path));
/** The modes this machine can run: dynamic only with the Lua modules installed. */
const MODES = hasLua ? (['reload', 'dynamic'] as const) : (['reload'] as const);

function finalShortIds(service: string): string[] {
  const finalIps = new Set(DEMO_FINAL_IPS[service]);
  return scenarioTasks(readScenarioLines())
    .filter((t) => t.service === service && finalIps.has(t.ip))
    .map((t) => t.shortId)
    .sort();
}

/** The task ids of `service` that answered `count` requests (other services' answers: see `answers`). */
async function servedIds(port: number, path: string, count: number, service: string): Promise<string[]> {
  const ids = new Set<string>();
  for (const body of await answers(port, path, count)) {
    const id = new RegExp(`^${service} task (\\S+)`).exec(body)?.[1];
    if (id !== undefined) ids.add(id);
  }
  return [...ids].sort();
}

/** The bodies of `count` 200 answers (a non-200 fails the test). */
async function answers(port: number, path: string, count: number): Promise<string[]> {
  const bodies: string[] = [];
  for (let i = 0; i < count; i += 1) {
    const { status, body } = await get(port, path);
    expect(status, body).toBe(200);
    bodies.push(body);
  }
  return bodies;
}

interface AppliedBlock {
  kind: 'reload' | 'push';
  /** Services whose upstream servers changed. */
  services: Set<string>;
  /** Routes (from labels) that appeared, changed state or went. */
  routes: Set<string>;
}

/** The demo's apply lines (`⟳ NGINX reloaded` / `⇢ endpoints pushed`), the services and routes each changed. */
function appliedBlocks(lines: readonly string[]): AppliedBlock[] {
  const blocks: AppliedBlock[] = [];
  for (const line of lines) {
    if (line.includes('⟳ NGINX reloaded'))
      blocks.push({ kind: 'reload', services: new Set(), routes: new Set() });
    else if (line.includes('⇢ endpoints pushed'))
      blocks.push({ kind: 'push', services: new Set(), routes: new Set() });
    else {
      const route = /^ {13}route (\S+) /.exec(line);
      const change = /^ {13}(\S+) [+-] /.exec(line);
      if (route?.[1] !== undefined) blocks.at(-1)?.routes.add(route[1]);
      else if (change?.[1] !== undefined) blocks.at(-1)?.services.add(change[1]);
    }
  }
  return blocks;
}

interface DebugRoutes {
  routes: { service: string; kind: string; route: string; state: string; code?: string; reason: string }[];
  counts: Record<string, number>;
}

type Controller = CliProcess;

function spawnDemo(args: string[]): Controller {
  // A free admin port: the default 10254 may be a daemon's on a shared machine.
  return spawnCli(['demo', '--admin-port', '0', ...args]);
}

function nginxPidOf(stdout: string): number | undefined {
  const match = /NGINX started \(pid (\d+)\)/.exec(stdout);
  return match?.[1] === undefined ? undefined : Number(match[1]);
}

describe.skipIf(!hasNginx)('ecs-ingress demo', () => {
  let session: DemoSession | undefined;
  let controller: Controller | undefined;
  const leftovers: number[] = [];

  afterEach(async () => {
    await session?.stop();
    session = undefined;
    if (controller && controller.child.exitCode === null && controller.child.signalCode === null) {
      controller.child.kill('SIGKILL');
      await controller.exited;
    }
    controller = undefined;
    for (const pid of leftovers.splice(0)) if (pidAlive(pid)) process.kill(pid, 'SIGKILL');
  });

  it.each(MODES)(
    'plays the scenario into NGINX (%s mode): http and stream reach exactly the final tasks',
    async (mode) => {
      const lines: string[] = [];
      session = await startDemo({
        port: await freePort(),
        // Dynamic: slower, so endpoint changes fall between the reloads that the routes appearing
        // (structural) and the stream's api need, on a loaded machine too.
        speed: mode === 'dynamic' ? 10 : 40,
        out: (line) => lines.push(line),
        debounce: { minMs: 20, maxMs: 200 },
        minReloadIntervalMs: 50,
        mode,
      });
      await session.finished;
      expect(session.mode).toBe(mode);
      expect(lines.join('\n')).toContain('Scenario finished.');
      expect(lines.filter((l) => l.startsWith(`  Upstream mode: ${mode} `))).toHaveLength(1);
      const pushes = lines.filter((l) => l.includes('endpoints pushed to NGINX, no reload'));
      if (mode === 'dynamic') expect(pushes.length).toBeGreaterThan(0);
      else expect(pushes).toEqual([]);
      expect(lines.filter((l) => l.includes('dropped'))).toHaveLength(3);
      // The daemon's endpoints, fed by the demo: metrics true, ready, and the debug views.
      const metricsText = await (await fetch(`${session.adminUrl}/metrics`)).text();
      expect(metricsText).toMatch(/^ecs_ingress_events_applied_total\{[^}]*\} [1-9]/m);
      expect(metricsText).toMatch(/^ecs_ingress_upstreams 4$/m);
      expect((await fetch(`${session.adminUrl}/readyz`)).status).toBe(200);
      const state = (await (await fetch(`${session.adminUrl}/debug/state`)).json()) as { phase: string };
      expect(state.phase).toBe('running');
      expect(await (await fetch(`${session.adminUrl}/debug/upstreams`)).text()).toContain('upstream web');
      // Every route comes from labels: web's /web with web-canary's 20 %, web-preview's claim on
      // /web a conflict (reported, not rendered), api's /api and its tcp route.
      const debug = (await (await fetch(`${session.adminUrl}/debug/routes`)).json()) as DebugRoutes;
      expect(debug.routes.map((r) => `${r.service}/${r.kind}/${r.route} ${r.state}`)).toEqual([
        'api/http/default active',
        'api/tcp/raw active',
        'web/http/default active',
        'web-canary/http/default active',
        'web-preview/http/default conflict',
      ]);
      expect(debug.routes.at(-1)).toMatchObject({
        code: 'ECS_INGRESS_ROUTE_CONFLICT',
        reason: 'prefix /web on 127.0.0.1 is held by web/default (older)',
      });
      expect(lines.join('\n')).toMatch(/route web-preview\/default \(http\) conflict: prefix \/web/);
      expect(await servedIds(session.httpPort, '/web/', 15, 'web')).toEqual(finalShortIds('web'));
      expect(await servedIds(session.httpPort, '/api/', 6, 'api')).toEqual(finalShortIds('api'));
      // 20 % canary: over 60 requests (P(none) = 0.8^60 ≈ 1.5e-6) some reach web-canary, none web-preview.
      const webAnswers = await answers(session.httpPort, '/web/', 60);
      expect(webAnswers.some((body) => body.startsWith('web-canary task '))).toBe(true);
      expect(webAnswers.filter((body) => body.startsWith('web-preview'))).toEqual([]);
      const reply = await tcpExchange(session.streamPort, 'GET / HTTP/1.0\r\n\r\n');
      expect(reply).toMatch(/^HTTP\/1\.[01] 200/);
      expect(finalShortIds('api').some((id) => reply.includes(`api task ${id}`))).toBe(true);
    },
  );

  it.runIf(hasLua)(
    'dynamic mode: only api (the stream service) and route changes reload; web changes are pushed',
    async () => {
      const lines: string[] = [];
      session = await startDemo({
        port: await freePort(),
        speed: 10,
        out: (line) => lines.push(line),
        debounce: { minMs: 20, maxMs: 200 },
        minReloadIntervalMs: 50,
        mode: 'dynamic',
      });
      const s = session;
      await s.runtime.ready;
      const master = s.runtime.runner.masterPid;
      await s.finished;
      expect(s.runtime.runner.masterPid).toBe(master);
      const applies = appliedBlocks(lines);
      expect(applies.some((a) => a.kind === 'push' && a.services.has('web'))).toBe(true);
      // A reload needs a structural reason: the stream's api, or a route (from labels) that changed.
      for (const apply of applies.filter((a) => a.kind === 'reload'))
        expect(apply.services.has('api') || apply.routes.size > 0).toBe(true);
      expect(applies.some((a) => a.kind === 'reload' && a.routes.has('web-canary/default'))).toBe(true);
      expect(await servedIds(s.httpPort, '/web/', 15, 'web')).toEqual(finalShortIds('web'));
      expect(await servedIds(s.httpPort, '/api/', 6, 'api')).toEqual(finalShortIds('api'));
    },
  );

  it.runIf(!hasLua)('--mode dynamic without the Lua modules fails before starting anything', async () => {
    await expect(
      startDemo({ port: await freePort(), out: () => undefined, mode: 'dynamic' }),
    ).rejects.toMatchObject({ code: 'ECS_INGRESS_DYNAMIC_MODE_UNAVAILABLE' });
  });

  // Default `auto`: dynamic exactly when the Lua modules are installed.
  it.each<[string, string[], string]>([
    ['auto', [], hasLua ? 'dynamic' : 'reload'],
    ...MODES.map((mode): [string, string[], string] => [mode, ['--mode', mode], mode]),
  ])(
    'demo --once (mode %s) completes and exits 0, says which mode ran, leaves no NGINX behind',
    async (_choice, modeArgs, mode) => {
      controller = spawnDemo(['--port', String(await freePort()), '--speed', '20', '--once', ...modeArgs]);
      const { code, signal } = await controller.exited;
      const stdout = controller.stdout();
      expect({ code, signal }).toEqual({ code: 0, signal: null });
      expect(stdout).toContain('Scenario finished.');
      expect(stdout).toContain(`Upstream mode: ${mode} (`);
      // The routes the services' labels publish, as /debug/routes reports them at the end.
      expect(stdout).toMatch(
        /Routes now \(http:\/\/127\.0\.0\.1:\d+\/debug\/routes\):\n {4}route api\/default/,
      );
      expect(stdout).toMatch(
        / {4}route web-canary\/default \(http\) active on 127\.0\.0\.1 localhost: canary: 20% of web\/default\n/,
      );
      expect(stdout).toMatch(
        / {4}route web-preview\/default \(http\) conflict: prefix \/web on 127\.0\.0\.1 is held by web\/default \(older\)/,
      );
      const master = nginxPidOf(stdout);
      expect(master).toBeDefined();
      expect(pidAlive(master!)).toBe(false);
    },
    60_000,
  );

  it('SIGTERM mid-scenario: NGINX quits gracefully, exit code 0, nothing left running', async () => {
    controller = spawnDemo(['--port', String(await freePort())]);
    const c = controller;
    // Bounded: NGINX starts within a few seconds of the process.
    expect(await pollUntil(() => nginxPidOf(c.stdout()) !== undefined, 600, 50)).toBe(true);
    const master = nginxPidOf(c.stdout())!;
    // Mid-scenario: the first task events have been applied.
    expect(await pollUntil(() => /NGINX reloaded|endpoints pushed/.test(c.stdout()), 400, 50)).toBe(true);
    const workers = childPids(master);
    expect(workers.length).toBeGreaterThan(0);
    leftovers.push(master, ...workers);
    c.child.kill('SIGTERM');
    const { code, signal } = await c.exited;
    expect({ code, signal }).toEqual({ code: 0, signal: null });
    expect(c.stdout()).not.toContain('Scenario finished.');
    for (const pid of [master, ...workers]) expect(pidAlive(pid), `pid ${pid}`).toBe(false);
    // Graceful: SIGQUIT sufficed, the runner never escalated to SIGTERM/SIGKILL (logged at warn+).
    expect(c.stderr()).not.toMatch(/did not quit gracefully|ignored SIGTERM|leftover nginx/);
    expect(c.stderr()).not.toMatch(/shutdown step failed|did not finish in time/);
  }, 60_000);
});
