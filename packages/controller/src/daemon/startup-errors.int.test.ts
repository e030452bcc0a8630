/**
 * `ecs-ingress run` start-up failures, each as a user meets them: the daemon in a child process
 * exits with the scheme's code (2 configuration, 1 runtime) and one fatal line or stderr message
 * that names the variable to fix, with the cause once ("cannot start:" never repeated).
 */
import { writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { type AwsFake, startAwsFake } from '@ecs-ingress/testkit/aws';
import { makeBundle, spawnDaemon, type TestBundle } from '@ecs-ingress/testkit/e2e';
import { HAS_LUA_MODULES, hasNginx, NGINX_BINARY } from '@ecs-ingress/testkit/nginx';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let aws: AwsFake;
let bundle: TestBundle;
beforeAll(async () => {
  [aws, bundle] = await Promise.all([startAwsFake(), makeBundle(['web'])]);
  aws.ecs.addCluster('quiet');
});
afterAll(async () => {
  await Promise.all([aws?.close(), bundle?.cleanup()]);
});

function env(extra: Record<string, string>): Record<string, string> {
  return {
    AWS_REGION: 'us-east-1',
    AWS_ENDPOINT_URL_ECS: aws.url,
    AWS_ENDPOINT_URL_EC2: aws.url,
    AWS_CLUSTER_NAME: 'quiet',
    ECS_INGRESS_QUEUE_MODE: 'none',
    NGINX_CONFIG_DIR: bundle.bundleDir,
    ECS_INGRESS_WORK_DIR: bundle.workDir,
    ECS_INGRESS_UPSTREAMS_FILE: bundle.upstreamsFile,
    ECS_INGRESS_NGINX_BINARY: NGINX_BINARY,
    ...extra,
  };
}

/** Runs the daemon until it exits on its own (bounded: killed after 60 s); exit code and output. */
async function runToExit(extra: Record<string, string>): Promise<{ code: number | string; output: string }> {
  const daemon = await spawnDaemon(env(extra));
  const timer = setTimeout(() => daemon.child.kill('SIGKILL'), 60_000);
  const code = await daemon.exited;
  clearTimeout(timer);
  return { code, output: daemon.output() };
}

function expectCauseOnce(output: string): void {
  expect(output.match(/cannot start/g)?.length ?? 0).toBeLessThanOrEqual(1);
}

describe.skipIf(!hasNginx)('run: start-up errors name their variable', () => {
  it('a missing NGINX binary is reported as such (ECS_INGRESS_NGINX_BINARY), exit 2, not as a bundle fetch', async () => {
    const { code, output } = await runToExit({ ECS_INGRESS_NGINX_BINARY: '/nonexistent/sbin/nginx' });
    expect(code).toBe(2);
    expect(output).toMatch(
      /ECS_INGRESS_NGINX_BINARY: the NGINX executable \/nonexistent\/sbin\/nginx does not exist \(ENOENT\): install NGINX/,
    );
    expect(output).not.toMatch(/fetch/i);
    expectCauseOnce(output);
  });

  it('a missing bundle directory names NGINX_CONFIG_DIR; an unusable work dir names ECS_INGRESS_WORK_DIR (both reported)', async () => {
    const file = join(bundle.root, 'not-a-dir');
    await writeFile(file, 'x');
    const { code, output } = await runToExit({
      NGINX_CONFIG_DIR: join(bundle.root, 'missing-bundle'),
      ECS_INGRESS_WORK_DIR: join(file, 'work'),
    });
    expect(code).toBe(2);
    expect(output).toMatch(
      /NGINX_CONFIG_DIR: the bundle directory .*missing-bundle does not exist \(ENOENT\)/,
    );
    expect(output).toMatch(/ECS_INGRESS_WORK_DIR: cannot create the directory .*not-a-dir\/work /);
  });

  it('an upstreams file path that is a directory names ECS_INGRESS_UPSTREAMS_FILE', async () => {
    const { code, output } = await runToExit({ ECS_INGRESS_UPSTREAMS_FILE: bundle.workDir });
    expect(code).toBe(2);
    expect(output).toMatch(/ECS_INGRESS_UPSTREAMS_FILE: .* is a directory; it must be a file path/);
  });

  it('the HTTP port in use names ECS_INGRESS_HTTP_PORT, exit 1, the cause once', async () => {
    const taken: Server = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as { port: number }).port;
    try {
      const { code, output } = await runToExit({ ECS_INGRESS_HTTP_PORT: String(port) });
      expect(code).toBe(1);
      const fatal = output.split('\n').find((line) => line.includes('"level":"fatal"')) ?? '';
      expect(JSON.parse(fatal)).toMatchObject({
        code: 'ECS_INGRESS_HTTP_LISTEN_FAILED',
        variable: 'ECS_INGRESS_HTTP_PORT',
      });
      expect(fatal).toMatch(/already in use \(EADDRINUSE\).*choose a free port with ECS_INGRESS_HTTP_PORT/);
      expectCauseOnce(output);
      expect(fatal.match(/EADDRINUSE/g)).toHaveLength(1);
    } finally {
      await new Promise<void>((resolve) => taken.close(() => resolve()));
    }
  });

  it('a broken bundle says "cannot start" once, with NGINX\'s own line', async () => {
    const broken = await makeBundle(['web'], { broken: true });
    try {
      const { code, output } = await runToExit({
        NGINX_CONFIG_DIR: broken.bundleDir,
        ECS_INGRESS_WORK_DIR: broken.workDir,
        ECS_INGRESS_UPSTREAMS_FILE: broken.upstreamsFile,
      });
      expect(code).toBe(1);
      const fatal = output.split('\n').find((line) => line.includes('"level":"fatal"')) ?? '';
      expect(fatal).toMatch(/cannot start: no valid NGINX config bundle .*this_directive_does_not_exist/);
      expectCauseOnce(output);
    } finally {
      await broken.cleanup();
    }
  });

  it.skipIf(!HAS_LUA_MODULES)(
    'a reload-layout bundle in dynamic mode names the includes a dynamic bundle needs',
    async () => {
      const { code, output } = await runToExit({ ECS_INGRESS_UPSTREAM_MODE: 'dynamic' });
      expect(code).toBe(1);
      const fatal = output.split('\n').find((line) => line.includes('"level":"fatal"')) ?? '';
      expect(fatal).toContain('ECS_INGRESS_UPSTREAM_MODE=dynamic, but the bundle includes');
      for (const variable of [
        'ECS_INGRESS_UPSTREAMS_FILE',
        'ECS_INGRESS_DYNAMIC_PREAMBLE_FILE',
        'ECS_INGRESS_DYNAMIC_UPSTREAMS_FILE',
        'ECS_INGRESS_STREAM_UPSTREAMS_FILE',
      ]) {
        expect(fatal).toContain(variable);
      }
      expect(fatal).toContain(join(bundle.workDir, 'ecs-ingress-dynamic.conf'));
      expectCauseOnce(output);
    },
  );
});
