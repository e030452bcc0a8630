/**
 * Files NGINX reads (upstreams.conf, the config bundle) written atomically, with the last known
 * good set kept on disk so a restarted daemon can serve at once what it served before.
 *
 * Atomic: each file is written to a temp file in the SAME directory (rename(2) is atomic only within
 * one file system), fsynced, renamed over the target, and the directory fsynced so the rename itself
 * survives a power cut. NGINX therefore never reads a half-written file.
 *
 * Naming: temp files are `.<name>.tmp-<pid>-<n>` and last-good copies `<name>.last-good`, so an
 * `include conf.d/*.conf;` glob never picks either of them up.
 */
import { randomBytes } from 'node:crypto';
import { open, readFile, rename, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { NginxFileWriteError } from './errors.js';

export interface FileContent {
  path: string;
  content: string;
}

export const LAST_GOOD_SUFFIX = '.last-good';

export function lastGoodPathOf(path: string): string {
  return `${path}${LAST_GOOD_SUFFIX}`;
}

function errnoOf(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : undefined;
}

/** The file's content, or undefined when it does not exist. */
export async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if (errnoOf(error) === 'ENOENT') return undefined;
    throw error;
  }
}

/** The last known good copy of `path` (`<path>.last-good`), or undefined when there is none. */
export async function lastKnownGood(path: string): Promise<string | undefined> {
  return readIfExists(lastGoodPathOf(path));
}

async function fsyncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Temp file + fsync + rename + directory fsync. */
export async function writeFileAtomic(path: string, content: string): Promise<void> {
  const dir = dirname(path);
  const temp = join(dir, `.${basename(path)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    const handle = await open(temp, 'wx', 0o644);
    try {
      await handle.writeFile(content, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
    await fsyncDirectory(dir);
  } catch (error) {
    await rm(temp, { force: true }).catch(() => undefined);
    throw new NginxFileWriteError(path, 'atomic write failed', { cause: error });
  }
}

async function removeFile(path: string): Promise<void> {
  try {
    await rm(path, { force: true });
    await fsyncDirectory(dirname(path));
  } catch (error) {
    throw new NginxFileWriteError(path, 'remove failed', { cause: error });
  }
}

/**
 * The write → commit | rollback bookkeeping. `lastGood` holds, per path, the content NGINX is known
 * to run with (undefined: the file did not exist); `pending` the writes since the last commit.
 * A path's first baseline is what was on disk when we first wrote it (what NGINX was started with),
 * or its `.last-good` copy after `restoreLastGood()`.
 */
export class ManagedFiles {
  private readonly lastGood = new Map<string, string | undefined>();
  private readonly pending = new Map<string, string>();

  /** Absolute paths written since the last commit/rollback. */
  pendingPaths(): string[] {
    return [...this.pending.keys()];
  }

  async write(files: readonly FileContent[]): Promise<void> {
    for (const file of files) {
      const path = resolve(file.path);
      if (!this.lastGood.has(path)) this.lastGood.set(path, await readIfExists(path));
      // Mark pending before writing: a write that fails half-way must still be rolled back.
      this.pending.set(path, file.content);
      await writeFileAtomic(path, file.content);
    }
  }

  /** The pending files become the last known good set, in memory and as `<file>.last-good` on disk. */
  async commit(): Promise<string[]> {
    const committed: string[] = [];
    for (const [path, content] of this.pending) {
      await writeFileAtomic(lastGoodPathOf(path), content);
      this.lastGood.set(path, content);
      committed.push(path);
    }
    this.pending.clear();
    return committed;
  }

  /** Pending files go back to their last known good content; files that did not exist are removed. */
  async rollback(): Promise<string[]> {
    const restored: string[] = [];
    for (const path of this.pending.keys()) {
      const good = this.lastGood.get(path);
      if (good === undefined) await removeFile(path);
      else await writeFileAtomic(path, good);
      restored.push(path);
    }
    this.pending.clear();
    return restored;
  }

  /**
   * Puts `<path>.last-good` back in place of `path` (when it exists and differs). Returns whether a
   * last-good copy existed. Used before the first start, so a file left half-applied by a crashed
   * daemon never goes live unvalidated.
   */
  async restoreLastGood(path: string): Promise<boolean> {
    const absolute = resolve(path);
    const good = await lastKnownGood(absolute);
    if (good === undefined) return false;
    if ((await readIfExists(absolute)) !== good) await writeFileAtomic(absolute, good);
    this.lastGood.set(absolute, good);
    this.pending.delete(absolute);
    return true;
  }
}
