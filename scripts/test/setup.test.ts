import { spawnSync } from 'node:child_process';
import { chmod, lstat, mkdir, mkdtemp, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

const root = new URL('../..', import.meta.url).pathname;
const pinned = (await import(join(root, 'package.json'), { with: { type: 'json' } })).default
  .packageManager as string;
const pnpmVersion = pinned.split('@')[1] ?? '';

// The machine's PATH without the workspace's own bins, as in a plain new shell.
const plainPath = (process.env.PATH ?? '')
  .split(delimiter)
  .filter((dir) => !dir.includes('node_modules'))
  .join(delimiter);

const scratch: string[] = [];
afterEach(async () => {
  await Promise.all(scratch.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

async function scratchPrefix(): Promise<string> {
  const prefix = await mkdtemp(join(tmpdir(), 'ecs-ingress-setup-'));
  scratch.push(prefix);
  await mkdir(join(prefix, 'bin'), { recursive: true });
  return prefix;
}

/** What `corepack enable` leaves when `corepack prepare` then fails its signature check. */
async function seedBrokenCorepackShim(prefix: string): Promise<void> {
  const dist = join(prefix, 'lib', 'node_modules', 'corepack', 'dist');
  await mkdir(dist, { recursive: true });
  for (const name of ['pnpm', 'pnpx']) {
    const target = join(dist, `${name}.js`);
    await writeFile(target, '#!/bin/sh\necho "Internal Error: Cannot find matching keyid" >&2\nexit 1\n');
    await chmod(target, 0o755);
    await symlink(`../lib/node_modules/corepack/dist/${name}.js`, join(prefix, 'bin', name));
  }
}

function setup(prefix: string, extraPathFirst: string[] = []) {
  const r = spawnSync('bash', [join(root, 'scripts/setup.sh'), '--only', 'pnpm'], {
    cwd: root,
    encoding: 'utf8',
    env: {
      ...process.env,
      NPM_CONFIG_PREFIX: prefix,
      PATH: [...extraPathFirst, join(prefix, 'bin'), plainPath].join(delimiter),
    },
    timeout: 170_000,
  });
  return { status: r.status, stderr: r.stderr };
}

function versionOf(binary: string): string {
  return spawnSync(binary, ['--version'], {
    encoding: 'utf8',
    env: { ...process.env, PATH: plainPath },
  }).stdout.trim();
}

describe('scripts/setup.sh --only pnpm', () => {
  it('replaces a broken corepack pnpm shim with a working pnpm, and is idempotent', async () => {
    const prefix = await scratchPrefix();
    await seedBrokenCorepackShim(prefix);
    expect(versionOf(join(prefix, 'bin', 'pnpm'))).toBe('');

    const first = setup(prefix);
    expect(first.stderr).toContain(`removing broken pnpm shim ${join(prefix, 'bin', 'pnpm')}`);
    expect(first.stderr).toContain(`installing pnpm ${pnpmVersion} with npm`);
    expect(first.status, first.stderr).toBe(0);
    expect(versionOf(join(prefix, 'bin', 'pnpm'))).toBe(pnpmVersion);
    // npm's own link now, not corepack's.
    expect(await readlink(join(prefix, 'bin', 'pnpm'))).not.toContain('corepack');

    const second = setup(prefix);
    expect(second.status, second.stderr).toBe(0);
    expect(second.stderr).not.toContain('installing pnpm');
    expect(second.stderr).toContain(`pnpm ${pnpmVersion}`);
  });

  it('replaces a broken pnpm file in npm’s global bin (where npm would stop with EEXIST)', async () => {
    const prefix = await scratchPrefix();
    await writeFile(join(prefix, 'bin', 'pnpm'), '#!/bin/sh\nexit 127\n');
    await chmod(join(prefix, 'bin', 'pnpm'), 0o755);

    const r = setup(prefix);
    expect(r.status, r.stderr).toBe(0);
    expect((await lstat(join(prefix, 'bin', 'pnpm'))).isSymbolicLink()).toBe(true);
    expect(versionOf(join(prefix, 'bin', 'pnpm'))).toBe(pnpmVersion);
  });

  it('names a broken pnpm elsewhere on PATH that it must not delete, and says what to do', async () => {
    const prefix = await scratchPrefix();
    const other = await scratchPrefix();
    await writeFile(join(other, 'bin', 'pnpm'), '#!/bin/sh\nexit 1\n');
    await chmod(join(other, 'bin', 'pnpm'), 0o755);

    const r = setup(prefix, [join(other, 'bin')]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`FAILED: another pnpm comes first on PATH: ${join(other, 'bin', 'pnpm')}`);
    expect(r.stderr).toContain('-> remove it, or put');
    // It is left alone; the npm-installed pnpm works.
    expect(versionOf(join(other, 'bin', 'pnpm'))).toBe('');
    expect(versionOf(join(prefix, 'bin', 'pnpm'))).toBe(pnpmVersion);
  });

  it('rejects an unknown argument with its usage', () => {
    const r = spawnSync('bash', [join(root, 'scripts/setup.sh'), '--bogus'], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('FAILED: unknown argument: --bogus');
    expect(r.stderr).toContain('usage: bash scripts/setup.sh');
  });
});

describe('the runtime', () => {
  it('the suite runs on Node.js 24, the image’s runtime', () => {
    expect(process.versions.node.split('.')[0]).toBe('24');
  });

  it('pnpm from the repo root in a plain shell runs scripts on Node.js 24', () => {
    const r = spawnSync('pnpm', ['-s', 'exec', 'node', '-p', 'process.versions.node'], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, PATH: plainPath },
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim().split('.')[0]).toBe('24');
  });
});

describe('the CLI on an older Node.js', () => {
  // The machine's own Node (20 on Debian bookworm images) when it is older than 22.
  const machineNode = ['/usr/bin/node', '/usr/local/bin/node'].find(
    (bin) =>
      Number(spawnSync(bin, ['-p', 'process.versions.node.split(".")[0]'], { encoding: 'utf8' }).stdout) < 22,
  );

  it.skipIf(machineNode === undefined)('says which Node.js it needs and how to get it, exit 1', () => {
    const r = spawnSync(
      machineNode!,
      ['--conditions=source', '--import', 'tsx', 'src/cli/main.ts', '--version'],
      { cwd: join(root, 'packages/controller'), encoding: 'utf8', env: { ...process.env, PATH: plainPath } },
    );
    expect(r.stderr).toContain('ecs-ingress: Node.js 22 or newer is required, this is v');
    expect(r.stderr).toContain("run 'bash scripts/setup.sh', then 'pnpm ecs-ingress <command>'");
    expect(r.stderr).not.toContain('TypeError');
    expect(r.status).toBe(1);
  });
});
