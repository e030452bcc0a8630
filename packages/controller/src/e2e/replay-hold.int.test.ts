/**
 * `ecs-ingress replay <file> --nginx <conf> --hold` as a real controller process: a signal ends the
 * hold, NGINX is stopped gracefully, the process exits 0 and no NGINX process is left. A second
 * signal while stopping must not kill the controller before NGINX is down (NGINX runs in its own
 * process group, so a controller killed by the default signal action would leave it running); the
 * kernel may merge two signals sent back to back, so `abortOnSignals` is also unit-tested.
 */
import { fileURLToPath } from 'node:url';
import { type CliProcess, makeTestPrefix, spawnCli, type TestPrefix } from '@ecs-ingress/testkit/e2e';
import { childPids, get, pidAlive, pollUntil } from '@ecs-ingress/testkit/net';
import { hasNginx } from '@ecs-ingress/testkit/nginx';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const SAMPLE = fileURLToPath(new URL('../../fixtures/sample-recording.jsonl', import.meta.url));

type Controller = CliProcess;

function spawnReplay(prefix: TestPrefix): Controller {
  return spawnCli([
    'replay',
    SAMPLE,
    '--nginx',
    prefix.configFile,
    '--prefix',
    prefix.dir,
    '--instant',
    '--hold',
    // The sample's documentation addresses (192.0.2.x) go nowhere: stubs on 127.x answer instead.
    '--local-backends',
  ]);
}

function nginxPidOf(stdout: string): number | undefined {
  const match = /nginx started \(pid (\d+)\)/.exec(stdout);
  return match?.[1] === undefined ? undefined : Number(match[1]);
}

describe.skipIf(!hasNginx)('replay --hold as a process', () => {
  let prefix: TestPrefix;
  let controller: Controller | undefined;
  const leftovers: number[] = [];

  beforeEach(async () => {
    prefix = await makeTestPrefix();
  });

  afterEach(async () => {
    if (controller && controller.child.exitCode === null && controller.child.signalCode === null) {
      controller.child.kill('SIGKILL');
      await controller.exited;
    }
    controller = undefined;
    for (const pid of leftovers.splice(0)) if (pidAlive(pid)) process.kill(pid, 'SIGKILL');
    await prefix.cleanup();
  });

  it.each([
    { name: 'SIGINT', signals: ['SIGINT'] as const },
    { name: 'SIGTERM', signals: ['SIGTERM'] as const },
    { name: 'SIGINT twice in a row', signals: ['SIGINT', 'SIGINT'] as const },
  ])(
    '$name ends the hold: NGINX stopped, exit 0, nothing left running',
    async ({ signals }) => {
      controller = spawnReplay(prefix);
      const c = controller;
      // Bounded: the instant replay of 59 lines takes well under a second after start-up.
      expect(await pollUntil(() => c.stdout().includes('holding:'), 600, 50), c.stdout() + c.stderr()).toBe(
        true,
      );
      const master = nginxPidOf(c.stdout());
      expect(master).toBeDefined();
      const workers = childPids(master!);
      expect(workers.length).toBeGreaterThan(0);
      leftovers.push(master!, ...workers);
      // NGINX answers during the hold, from a local stub of one of the sample's `web` tasks.
      const answer = await get(prefix.httpPort, '/');
      expect(answer.status).toBe(200);
      expect(answer.body).toMatch(/^web task [0-9a-f]{8} 127\./);

      for (const signal of signals) c.child.kill(signal);
      const { code, signal } = await c.exited;
      expect({ code, signal }, c.stderr()).toEqual({ code: 0, signal: null });
      expect(c.stdout().trimEnd().split('\n').at(-1)).toBe('nginx stopped');
      for (const pid of [master!, ...workers]) expect(pidAlive(pid), `pid ${pid}`).toBe(false);
      // Graceful: the runner never had to escalate to SIGTERM/SIGKILL.
      expect(c.stderr()).not.toMatch(/did not quit gracefully|ignored SIGTERM|leftover nginx/);
    },
    60_000,
  );
});
