/**
 * Writing a bundle's entries into the extraction tree under the rules of `extract.ts`: entry names
 * checked (rejected, never sanitised), files and directories created with fixed modes and never
 * over an earlier entry, bytes counted against the limits as they stream in, links created last
 * and resolved inside the tree.
 */
import { createWriteStream } from 'node:fs';
import { copyFile, lstat, mkdir, readdir, realpath, stat, symlink } from 'node:fs/promises';
import { dirname, isAbsolute, join, posix, sep } from 'node:path';
import { type Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BundleRejectedError } from './errors.js';

export interface ResolvedLimits {
  maxFiles: number;
  maxBytes: number;
  maxFileBytes: number;
}

export interface PendingLink {
  path: string;
  target: string;
  kind: 'symlink' | 'hardlink';
}

/** The running totals of one extraction, enforcing the limits as bytes stream in. */
export class Budget {
  files = 0;
  bytes = 0;
  constructor(readonly limits: ResolvedLimits) {}

  addEntry(path: string): void {
    this.files += 1;
    if (this.files > this.limits.maxFiles) {
      throw new BundleRejectedError(
        'too-many-files',
        `bundle has more than ${this.limits.maxFiles} entries (at ${path})`,
      );
    }
  }

  /** `soFar`: bytes of this file including `n`. */
  addBytes(path: string, n: number, soFar: number): void {
    this.bytes += n;
    if (soFar > this.limits.maxFileBytes) {
      throw new BundleRejectedError(
        'too-large',
        `${path} is larger than ${this.limits.maxFileBytes} bytes uncompressed`,
      );
    }
    if (this.bytes > this.limits.maxBytes) {
      throw new BundleRejectedError(
        'too-large',
        `bundle is larger than ${this.limits.maxBytes} bytes uncompressed (at ${path})`,
      );
    }
  }
}

/**
 * Checks an entry name and returns it normalised (no `.` or empty segments, no trailing slash);
 * `''` means the root directory itself (`./`).
 */
export function checkEntryPath(name: string): string {
  if (name.includes('\0'))
    throw new BundleRejectedError('unsupported-entry', `entry name contains NUL: ${JSON.stringify(name)}`);
  if (name.startsWith('/') || /^[A-Za-z]:/.test(name)) {
    throw new BundleRejectedError('absolute-path', `entry has an absolute path: ${name}`);
  }
  const segments = name.split('/').filter((s) => s !== '' && s !== '.');
  if (segments.includes('..')) {
    throw new BundleRejectedError('path-traversal', `entry path contains "..": ${name}`);
  }
  return segments.join('/');
}

/** An archive the library could not read: rejected as corrupt, the library's message kept. */
export function corrupt(error: unknown): BundleRejectedError {
  const message = error instanceof Error ? error.message : String(error);
  return new BundleRejectedError('corrupt-archive', `bundle archive is unreadable: ${message}`, {
    cause: error,
  });
}

/** Creates the parent directories of `rel` (each one a real directory inside `root`). */
async function ensureParent(root: string, rel: string): Promise<void> {
  const parent = posix.dirname(rel);
  if (parent === '.') return;
  try {
    await mkdir(join(root, parent), { recursive: true, mode: 0o755 });
  } catch (error) {
    throw new BundleRejectedError(
      'duplicate-entry',
      `cannot create directory for ${rel}: a file is in the way`,
      {
        cause: error,
      },
    );
  }
}

export async function makeDirectory(root: string, rel: string): Promise<void> {
  if (rel === '') return;
  try {
    await mkdir(join(root, rel), { recursive: true, mode: 0o755 });
  } catch (error) {
    throw new BundleRejectedError('duplicate-entry', `cannot create directory ${rel}: a file is in the way`, {
      cause: error,
    });
  }
}

/** Streams `source` into a new file `rel`, counting bytes; a limit hit destroys the whole pipeline. */
export async function writeFileEntry(
  root: string,
  rel: string,
  source: Readable,
  budget: Budget,
): Promise<void> {
  await ensureParent(root, rel);
  let size = 0;
  const count = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      size += chunk.length;
      try {
        budget.addBytes(rel, chunk.length, size);
        callback(null, chunk);
      } catch (error) {
        callback(error as Error);
      }
    },
  });
  try {
    // 'wx': an entry never overwrites an earlier one (nor follows anything already there).
    await pipeline(source, count, createWriteStream(join(root, rel), { flags: 'wx', mode: 0o644 }));
  } catch (error) {
    if (error instanceof BundleRejectedError) throw error;
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new BundleRejectedError('duplicate-entry', `bundle contains ${rel} twice`, { cause: error });
    }
    throw error;
  }
}

/** Validates a symlink target lexically; the realpath() check after creation is the final word. */
export function checkLinkTarget(rel: string, target: string): void {
  if (target === '' || isAbsolute(target) || /^[A-Za-z]:/.test(target)) {
    throw new BundleRejectedError('link-outside', `link ${rel} points outside the bundle: ${target}`);
  }
  const resolved = posix.normalize(posix.join(posix.dirname(rel), target));
  if (resolved === '..' || resolved.startsWith('../')) {
    throw new BundleRejectedError('link-outside', `link ${rel} points outside the bundle: ${target}`);
  }
}

function isInside(root: string, path: string): boolean {
  return path === root || path.startsWith(root + sep);
}

export async function createLinks(
  root: string,
  links: readonly PendingLink[],
  budget: Budget,
): Promise<void> {
  const symlinks: PendingLink[] = [];
  for (const link of links) {
    await ensureParent(root, link.path);
    // The parent must be the real directory of that name, not reached through a link created here.
    const parent = dirname(join(root, link.path));
    if ((await realpath(parent)) !== parent) {
      throw new BundleRejectedError('link-outside', `link ${link.path} sits inside a linked directory`);
    }
    if (link.kind === 'hardlink') {
      const source = join(root, checkEntryPath(link.target));
      const info = await lstat(source).catch(() => undefined);
      if (!info?.isFile()) {
        throw new BundleRejectedError(
          'link-dangling',
          `hard link ${link.path} names no earlier file: ${link.target}`,
        );
      }
      budget.addBytes(link.path, info.size, info.size);
      await copyFile(source, join(root, link.path), 1 /* COPYFILE_EXCL */).catch((error: unknown) => {
        throw new BundleRejectedError('duplicate-entry', `bundle contains ${link.path} twice`, {
          cause: error,
        });
      });
    } else {
      await symlink(link.target, join(root, link.path)).catch((error: unknown) => {
        throw new BundleRejectedError('duplicate-entry', `bundle contains ${link.path} twice`, {
          cause: error,
        });
      });
      symlinks.push(link);
    }
  }
  // Only now, with every link in place, does realpath() see the final tree (chains included).
  for (const link of symlinks) {
    let resolved: string;
    try {
      resolved = await realpath(join(root, link.path));
    } catch (error) {
      throw new BundleRejectedError(
        'link-dangling',
        `link ${link.path} -> ${link.target} points to nothing`,
        {
          cause: error,
        },
      );
    }
    if (!isInside(root, resolved)) {
      throw new BundleRejectedError(
        'link-outside',
        `link ${link.path} -> ${link.target} resolves outside the bundle`,
      );
    }
  }
}

export async function checkMainFile(root: string, mainFile: string): Promise<void> {
  const path = join(root, checkEntryPath(mainFile));
  const info = await stat(path).catch(() => undefined);
  if (info?.isFile()) return;
  // A common mistake is zipping the directory instead of its contents: say so.
  const nested: string[] = [];
  for (const entry of await readdir(root, { withFileTypes: true })) {
    if (
      entry.isDirectory() &&
      (await stat(join(root, entry.name, mainFile)).catch(() => undefined))?.isFile()
    ) {
      nested.push(`${entry.name}/${mainFile}`);
    }
  }
  const hint =
    nested.length > 0
      ? ` (found ${nested.join(', ')}: archive the directory's contents, not the directory)`
      : '';
  throw new BundleRejectedError('missing-main-file', `bundle has no ${mainFile} at its root${hint}`);
}
