import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NginxFileWriteError } from './errors.js';
import { lastKnownGood, ManagedFiles, writeFileAtomic } from './managed-files.js';

describe('ManagedFiles', () => {
  let dir: string;
  let existing: string;
  let fresh: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'managed-files-'));
    existing = join(dir, 'upstreams.conf');
    fresh = join(dir, 'new.conf');
    await writeFile(existing, 'v0');
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const read = (path: string) => readFile(path, 'utf8');

  it('rollback restores the previous content and removes files that did not exist', async () => {
    const files = new ManagedFiles();
    await files.write([
      { path: existing, content: 'v1' },
      { path: fresh, content: 'n1' },
    ]);
    await files.write([{ path: existing, content: 'v2' }]);
    expect(await read(existing)).toBe('v2');
    expect((await files.rollback()).sort()).toEqual([fresh, existing].sort());
    expect(await read(existing)).toBe('v0');
    expect(existsSync(fresh)).toBe(false);
    expect(files.pendingPaths()).toEqual([]);
  });

  it('commit makes the current set the rollback target and persists .last-good copies', async () => {
    const files = new ManagedFiles();
    await files.write([
      { path: existing, content: 'v1' },
      { path: fresh, content: 'n1' },
    ]);
    expect((await files.commit()).sort()).toEqual([fresh, existing].sort());
    expect(await lastKnownGood(existing)).toBe('v1');
    expect(await lastKnownGood(fresh)).toBe('n1');

    await files.write([{ path: existing, content: 'v2' }]);
    expect(await files.rollback()).toEqual([existing]);
    expect(await read(existing)).toBe('v1');
    expect(await read(fresh)).toBe('n1');
  });

  it('rollback with nothing pending changes nothing', async () => {
    const files = new ManagedFiles();
    expect(await files.rollback()).toEqual([]);
    expect(await read(existing)).toBe('v0');
  });

  it('restoreLastGood puts the last-good copy back and makes it the rollback target', async () => {
    await writeFile(`${existing}.last-good`, 'good');
    const files = new ManagedFiles();
    expect(await files.restoreLastGood(existing)).toBe(true);
    expect(await read(existing)).toBe('good');
    await files.write([{ path: existing, content: 'bad' }]);
    await files.rollback();
    expect(await read(existing)).toBe('good');
    expect(await files.restoreLastGood(fresh)).toBe(false);
  });

  it('writes atomically: no temp files are left and a failed write is a coded error', async () => {
    await writeFileAtomic(existing, 'x');
    expect(await readdir(dir)).toEqual(['upstreams.conf']);
    const error = await writeFileAtomic(join(dir, 'missing-dir', 'f.conf'), 'x').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NginxFileWriteError);
    expect(error).toMatchObject({ code: 'ECS_INGRESS_NGINX_FILE_WRITE_FAILED' });
  });
});
