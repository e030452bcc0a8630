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

async function servedIds(port: number, path: string, count: number): Promise<string[]> {
  const ids = new Set<string>();
  for (let i = 0; i < count; i += 1) {
    const { status, body } = await get(port, path);
    const id = /task (\S+)/.exec(body)?.[1];
    if (status === 200 && id !== undefined) ids.add(id);
  }
  return [...ids].sort();
}

/** The demo's apply lines (`⟳ NGINX reloaded` / `⇢ endpoints pushed`) and the services each changed. */
function appliedBlocks(lines: readonly string[]): { kind: 'reload' | 'push'; services: Set<string> }[] {
  const blocks: { kind: 'reload' | 'push'; services: Set<string> }[] = [];
  for (const line of lines) {
    if (line.includes('⟳ NGINX reloaded')) blocks.push({ kind: 'reload', services: new Set() });
    else if (line.includes('⇢ endpoints pushed')) blocks.push({ kind: 'push', services: new Set() });
    else {
      const change = /^ {13}(\S+) [+-] /.exec(line);
      if (change?.[1] !== undefined) blocks.at(-1)?.services.add(change[1]);
    }
  }
  return blocks;
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
        speed: 40,
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
      expect(metricsText).toMatch(/^ecs_ingress_upstreams 2$/m);
      expect((await fetch(`${session.adminUrl}/readyz`)).status).toBe(200);
      const state = (await (await fetch(`${session.adminUrl}/debug/state`)).json()) as { phase: string };
      expect(state.phase).toBe('running');
      expect(await (await fetch(`${session.adminUrl}/debug/upstreams`)).text()).toContain('upstream web');
      expect(await servedIds(session.httpPort, '/web/', 9)).toEqual(finalShortIds('web'));
      expect(await servedIds(session.httpPort, '/api/', 6)).toEqual(finalShortIds('api'));
      const reply = await tcpExchange(session.streamPort, 'GET / HTTP/1.0\r\n\r\n');
      expect(reply).toMatch(/^HTTP\/1\.[01] 200/);
      expect(finalShortIds('api').some((id) => reply.includes(`api task ${id}`))).toBe(true);
    },
  );

  it.runIf(hasLua)(
    'dynamic mode: only api (the stream service) reloads; web changes are pushed',
    async () => {
      const lines: string[] = [];
      session = await startDemo({
        port: await freePort(),
        speed: 40,
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
      // A reload needs a structural reason, and the only one in the scenario is the stream's api.
      for (const apply of applies.filter((a) => a.kind === 'reload'))
        expect(apply.services.has('api')).toBe(true);
      expect(await servedIds(s.httpPort, '/web/', 9)).toEqual(finalShortIds('web'));
      expect(await servedIds(s.httpPort, '/api/', 6)).toEqual(finalShortIds('api'));
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
