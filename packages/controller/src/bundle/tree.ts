/**
 * A directory as a bundle: list it (symlinks followed, so what NGINX would read is what counts),
 * hash it, copy it into a staging directory under the same limits as an archive.
 */
import { createHash } from 'node:crypto';
import { copyFile, mkdir, readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { BundleRejectedError } from './errors.js';
import { DEFAULT_MAX_BYTES, DEFAULT_MAX_FILES, type ExtractLimits } from './extract.js';

export interface TreeEntry {
  /** `/`-separated, relative to the root. */
  rel: string;
  kind: 'file' | 'directory';
  size: number;
}

/**
 * Every file and directory under `root`, sorted by path, following symlinks. Bounded by
 * `maxFiles` (which also stops a symlink loop) and `maxBytes`.
 */
export async function listTree(root: string, limits: ExtractLimits = {}): Promise<TreeEntry[]> {
  const maxFiles = limits.maxFiles ?? DEFAULT_MAX_FILES;
  const maxBytes = limits.maxBytes ?? DEFAULT_MAX_BYTES;
  const maxFileBytes = Math.min(limits.maxFileBytes ?? maxBytes, maxBytes);
  const entries: TreeEntry[] = [];
  let bytes = 0;
  const walk = async (dir: string, prefix: string): Promise<void> => {
    const names = (await readdir(join(root, dir))).sort();
    for (const name of names) {
      const rel = prefix === '' ? name : `${prefix}/${name}`;
      const info = await stat(join(root, rel)).catch(() => undefined);
      // A dangling symlink (or a file deleted while we walk) is simply not part of the bundle.
      if (info === undefined) continue;
      if (entries.length >= maxFiles) {
        throw new BundleRejectedError('too-many-files', `bundle directory has more than ${maxFiles} entries`);
      }
      if (info.isDirectory()) {
        entries.push({ rel, kind: 'directory', size: 0 });
        await walk(rel, rel);
      } else if (info.isFile()) {
        bytes += info.size;
        if (info.size > maxFileBytes || bytes > maxBytes) {
          throw new BundleRejectedError('too-large', `bundle directory is larger than allowed (at ${rel})`);
        }
        entries.push({ rel, kind: 'file', size: info.size });
      } else {
        throw new BundleRejectedError('device-file', `${rel} is a device file, FIFO or socket`);
      }
    }
  };
  await walk('', '');
  return entries;
}

/** Content id of a tree: sha256 over each path, kind and content, in path order; 16 hex chars. */
export async function hashTree(root: string, limits: ExtractLimits = {}, extra = ''): Promise<string> {
  const hash = createHash('sha256');
  hash.update(`ecs-ingress-bundle-v1\0${extra}\0`);
  for (const entry of await listTree(root, limits)) {
    hash.update(`${entry.kind}\0${entry.rel}\0`);
    if (entry.kind === 'file') {
      const content = await readFile(join(root, entry.rel));
      hash.update(`${content.length}\0`);
      hash.update(content);
    }
  }
  return hash.digest('hex').slice(0, 16);
}

/** Content id of archive bytes. */
export function hashBytes(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex').slice(0, 16);
}

/**
 * Copies `source` into the empty or missing `dest`, dereferencing symlinks (the staged tree is
 * self-contained), under the limits; rejects `missing-main-file` when `limits.mainFile` is absent.
 */
export async function copyTree(source: string, dest: string, limits: ExtractLimits = {}): Promise<number> {
  const entries = await listTree(source, limits);
  await mkdir(dest, { recursive: true });
  for (const entry of entries) {
    const target = join(dest, entry.rel);
    if (entry.kind === 'directory') await mkdir(target, { recursive: true, mode: 0o755 });
    else await copyFile(join(source, entry.rel), target);
  }
  if (limits.mainFile !== undefined && !entries.some((e) => e.kind === 'file' && e.rel === limits.mainFile)) {
    throw new BundleRejectedError(
      'missing-main-file',
      `bundle directory ${source} has no ${limits.mainFile}`,
    );
  }
  return entries.length;
}
