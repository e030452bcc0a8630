/**
 * Safe extraction of a config bundle (zip or tar.gz, also plain tar) into a fresh directory.
 *
 * The archive comes from a bucket other people can write to, so nothing in it is trusted:
 * - the format is detected from the first bytes, never from a file name;
 * - entry names must be relative and free of `..` segments: such an archive is REJECTED, not
 *   "sanitised" (tar's own extractor strips `/` and `..` and carries on, which hides the problem);
 * - bytes are counted as they are decompressed, so a declared size (zip headers, tar headers) is
 *   never what stops a bomb; the decompressed tar stream as a whole is bounded too;
 * - device files, FIFOs and sockets are refused;
 * - links. Decision: symbolic links are allowed only when they stay inside the tree (configs do
 *   `sites-enabled/x -> ../sites-available/x`): absolute targets and lexically escaping targets are
 *   refused, links are created only after every file and directory (so no entry is ever written
 *   through a link), and finally every link is resolved with realpath() and must land inside the
 *   tree (this also catches chains of links). Hard links (tar only) become copies of the earlier
 *   entry they name, counted against the byte limit.
 * Files are written 0644 and directories 0755 whatever the archive says (no setuid, no
 * world-writable config).
 *
 * On rejection the partly extracted tree is left in `destDir` for the caller to keep for inspection.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { copyFile, lstat, mkdir, open, readdir, realpath, stat, symlink } from 'node:fs/promises';
import { dirname, isAbsolute, join, posix, sep } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { Parser, type ReadEntry } from 'tar';
import yauzl from 'yauzl';
import { BundleRejectedError } from './errors.js';

export interface ExtractLimits {
  /** Entries of any kind (files, directories, links). Default 1000. */
  maxFiles?: number;
  /** Total uncompressed bytes of all files. Default 50 MiB. */
  maxBytes?: number;
  /** Uncompressed bytes of one file. Default: `maxBytes`. */
  maxFileBytes?: number;
  /** When set, the bundle must contain this file (relative path) or it is rejected (`missing-main-file`). */
  mainFile?: string;
}

export interface ExtractResult {
  /** Entries extracted (files, directories and links). */
  files: number;
  /** Bytes of file content written. */
  bytes: number;
  format: ArchiveFormat;
}

export type ArchiveFormat = 'zip' | 'tar.gz' | 'tar';

export const DEFAULT_MAX_FILES = 1000;
export const DEFAULT_MAX_BYTES = 50 * 1024 * 1024;
/** Longest symlink target read from a zip entry (Linux PATH_MAX is 4096). */
const MAX_LINK_TARGET_BYTES = 4096;

interface ResolvedLimits {
  maxFiles: number;
  maxBytes: number;
  maxFileBytes: number;
}

interface PendingLink {
  path: string;
  target: string;
  kind: 'symlink' | 'hardlink';
}

/** The running totals of one extraction, enforcing the limits as bytes stream in. */
class Budget {
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

/** The format from the magic bytes: zip `PK\3\4` (or `PK\5\6`, empty), gzip `1f 8b`, tar `ustar` at 257. */
export function detectArchiveFormat(head: Uint8Array): ArchiveFormat | undefined {
  if (head.length >= 4 && head[0] === 0x50 && head[1] === 0x4b) {
    if ((head[2] === 3 && head[3] === 4) || (head[2] === 5 && head[3] === 6)) return 'zip';
  }
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'tar.gz';
  if (head.length >= 262 && Buffer.from(head.subarray(257, 262)).toString('latin1') === 'ustar') return 'tar';
  return undefined;
}

async function readHead(archive: Buffer | string): Promise<Uint8Array> {
  if (typeof archive !== 'string') return archive.subarray(0, 512);
  const handle = await open(archive, 'r');
  try {
    const buffer = Buffer.alloc(512);
    const { bytesRead } = await handle.read(buffer, 0, 512, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/**
 * Extracts `archive` (bytes or a file path) into `destDir`, which must not exist or be empty.
 * Rejects with `BundleRejectedError` (code ECS_INGRESS_BUNDLE_REJECTED, see `reason`).
 */
export async function extractBundle(
  archive: Buffer | string,
  destDir: string,
  limits: ExtractLimits = {},
): Promise<ExtractResult> {
  const maxBytes = limits.maxBytes ?? DEFAULT_MAX_BYTES;
  const budget = new Budget({
    maxFiles: limits.maxFiles ?? DEFAULT_MAX_FILES,
    maxBytes,
    maxFileBytes: Math.min(limits.maxFileBytes ?? maxBytes, maxBytes),
  });
  const format = detectArchiveFormat(await readHead(archive));
  if (format === undefined) {
    throw new BundleRejectedError(
      'not-an-archive',
      'bundle is neither a zip nor a tar.gz (by its first bytes)',
    );
  }
  await mkdir(destDir, { recursive: true });
  if ((await readdir(destDir)).length > 0) throw new Error(`extraction directory is not empty: ${destDir}`);
  const root = await realpath(destDir);

  const links =
    format === 'zip'
      ? await extractZip(archive, root, budget)
      : await extractTar(archive, format, root, budget);
  await createLinks(root, links, budget);
  if (limits.mainFile !== undefined) await checkMainFile(root, limits.mainFile);
  return { files: budget.files, bytes: budget.bytes, format };
}

// ---------------------------------------------------------------------------------------------
// Writing entries

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

async function makeDirectory(root: string, rel: string): Promise<void> {
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
async function writeFileEntry(root: string, rel: string, source: Readable, budget: Budget): Promise<void> {
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
function checkLinkTarget(rel: string, target: string): void {
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

async function createLinks(root: string, links: readonly PendingLink[], budget: Budget): Promise<void> {
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

async function checkMainFile(root: string, mainFile: string): Promise<void> {
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

// ---------------------------------------------------------------------------------------------
// zip (yauzl)

const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;
/** "Version made by" high byte 3 = UNIX: only then are the high 16 bits of the external attributes a mode. */
const MADE_BY_UNIX = 3;

type ZipKind = 'file' | 'directory' | 'symlink' | 'special';

function zipEntryKind(entry: yauzl.Entry, name: string): ZipKind {
  const mode = (entry.externalFileAttributes >>> 16) & S_IFMT;
  if (entry.versionMadeBy >> 8 === MADE_BY_UNIX && mode !== 0) {
    if (mode === S_IFDIR) return 'directory';
    if (mode === S_IFLNK) return 'symlink';
    if (mode === S_IFREG) return name.endsWith('/') ? 'directory' : 'file';
    return 'special';
  }
  return name.endsWith('/') ? 'directory' : 'file';
}

function nextZipEntry(zip: yauzl.ZipFile): Promise<yauzl.Entry | undefined> {
  return new Promise((resolve, reject) => {
    const done = (): void => {
      zip.off('entry', onEntry);
      zip.off('end', onEnd);
      zip.off('error', onError);
    };
    const onEntry = (entry: yauzl.Entry): void => {
      done();
      resolve(entry);
    };
    const onEnd = (): void => {
      done();
      resolve(undefined);
    };
    const onError = (error: Error): void => {
      done();
      reject(error);
    };
    zip.on('entry', onEntry);
    zip.on('end', onEnd);
    zip.on('error', onError);
    zip.readEntry();
  });
}

function corrupt(error: unknown): BundleRejectedError {
  const message = error instanceof Error ? error.message : String(error);
  return new BundleRejectedError('corrupt-archive', `bundle archive is unreadable: ${message}`, {
    cause: error,
  });
}

async function extractZip(archive: Buffer | string, root: string, budget: Budget): Promise<PendingLink[]> {
  // decodeStrings: false, so yauzl does not throw its own untyped errors for `..` or `/` names:
  // we decode the name exactly as yauzl would and reject with a reason.
  const options: yauzl.Options = {
    lazyEntries: true,
    decodeStrings: false,
    validateEntrySizes: true,
    autoClose: true,
  };
  let zip: yauzl.ZipFile;
  try {
    zip =
      typeof archive === 'string'
        ? await yauzl.openPromise(archive, options)
        : await yauzl.fromBufferPromise(archive, options);
  } catch (error) {
    throw corrupt(error);
  }
  const links: PendingLink[] = [];
  try {
    // Bounded: yauzl reads the central directory's entry count, and maxFiles stops us earlier.
    for (;;) {
      const entry = await nextZipEntry(zip).catch((error: unknown) => Promise.reject(corrupt(error)));
      if (entry === undefined) break;
      const name = yauzl.getFileNameLowLevel(
        entry.generalPurposeBitFlag,
        entry.fileNameRaw,
        entry.extraFields,
        false,
      );
      const rel = checkEntryPath(name);
      const kind = zipEntryKind(entry, name);
      if (kind === 'special')
        throw new BundleRejectedError('device-file', `entry ${name} is a device file, FIFO or socket`);
      if (rel === '') continue;
      budget.addEntry(rel);
      if (kind === 'directory') {
        await makeDirectory(root, rel);
        continue;
      }
      // Cheap early refusal on the declared size; the streamed count below is what enforces it.
      if (kind === 'file' && entry.uncompressedSize > budget.limits.maxFileBytes) {
        throw new BundleRejectedError(
          'too-large',
          `${rel} declares ${entry.uncompressedSize} bytes, over the limit`,
        );
      }
      let stream: Readable;
      try {
        stream = await zip.openReadStreamPromise(entry);
      } catch (error) {
        throw new BundleRejectedError(
          'unsupported-entry',
          `cannot read ${rel}: ${(error as Error).message}`,
          { cause: error },
        );
      }
      if (kind === 'symlink') {
        const target = await readLinkTarget(rel, stream);
        checkLinkTarget(rel, target);
        links.push({ path: rel, target, kind: 'symlink' });
        continue;
      }
      await writeFileEntry(root, rel, stream, budget).catch((error: unknown) => {
        throw error instanceof BundleRejectedError ? error : corrupt(error);
      });
    }
  } finally {
    zip.close();
  }
  return links;
}

async function readLinkTarget(rel: string, stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    size += (chunk as Buffer).length;
    if (size > MAX_LINK_TARGET_BYTES) {
      stream.destroy();
      throw new BundleRejectedError(
        'unsupported-entry',
        `link ${rel} has a target longer than ${MAX_LINK_TARGET_BYTES} bytes`,
      );
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

// ---------------------------------------------------------------------------------------------
// tar and tar.gz (tar's streaming Parser; we do the writing)

/**
 * Bound on the decompressed tar stream as a whole: headers (512 B, plus long-name and pax records)
 * and padding come on top of the file bytes. Without it, a gzip of a few KB could inflate to
 * gigabytes of zero blocks or padding that no file-size count ever sees.
 */
function tarStreamLimit(limits: ResolvedLimits): number {
  return limits.maxBytes + (limits.maxFiles + 2) * 4 * 512 + 1024 * 1024;
}

async function extractTar(
  archive: Buffer | string,
  format: 'tar.gz' | 'tar',
  root: string,
  budget: Budget,
): Promise<PendingLink[]> {
  const raw = typeof archive === 'string' ? createReadStream(archive) : Readable.from([archive]);
  const input = format === 'tar.gz' ? raw.pipe(createGunzip()) : raw;
  raw.on('error', (error: Error) => input.destroy(error));
  const links: PendingLink[] = [];
  // Entries are handled one at a time, in order: the parser queues the next one until this resolves.
  const work: Promise<void>[] = [];
  let failure: unknown;
  const fail = (error: unknown): void => {
    failure ??= error;
  };
  const parser = new Parser({ strict: true });
  parser.on('entry', (entry: ReadEntry) => {
    if (failure !== undefined) {
      entry.resume();
      return;
    }
    const job = handleTarEntry(entry, root, budget, links).catch((error: unknown) => {
      entry.resume();
      fail(error);
    });
    work.push(job);
  });
  parser.on('error', (error: unknown) => fail(corrupt(error)));
  parser.on('warn', (_code: string, message: string) => fail(corrupt(new Error(message))));
  const limit = tarStreamLimit(budget.limits);
  let streamed = 0;
  try {
    for await (const chunk of input) {
      if (failure !== undefined) break;
      streamed += (chunk as Buffer).length;
      if (streamed > limit) {
        fail(new BundleRejectedError('too-large', `decompressed tar stream exceeds ${limit} bytes`));
        break;
      }
      if (!parser.write(chunk as Buffer)) await waitDrain(parser, () => failure !== undefined);
    }
  } catch (error) {
    fail(corrupt(error));
  } finally {
    input.destroy();
    raw.destroy();
  }
  if (failure === undefined) {
    await new Promise<void>((resolve) => {
      parser.once('end', resolve);
      parser.end();
    });
  }
  await Promise.all(work);
  if (failure !== undefined) throw failure;
  return links;
}

/** Waits for the parser's 'drain', or gives up when the extraction has failed (nothing will drain it). */
async function waitDrain(parser: Parser, failed: () => boolean): Promise<void> {
  while (!failed()) {
    const drained = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        parser.off('drain', onDrain);
        resolve(false);
      }, 50);
      const onDrain = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      parser.once('drain', onDrain);
    });
    if (drained) return;
  }
}

async function handleTarEntry(
  entry: ReadEntry,
  root: string,
  budget: Budget,
  links: PendingLink[],
): Promise<void> {
  const rel = checkEntryPath(entry.path);
  switch (entry.type) {
    case 'CharacterDevice':
    case 'BlockDevice':
    case 'FIFO':
      throw new BundleRejectedError('device-file', `entry ${entry.path} is a ${entry.type}`);
    case 'Directory':
      entry.resume();
      if (rel === '') return;
      budget.addEntry(rel);
      await makeDirectory(root, rel);
      return;
    case 'File':
    case 'OldFile':
    case 'ContiguousFile':
      if (rel === '')
        throw new BundleRejectedError('unsupported-entry', `file entry without a name: ${entry.path}`);
      budget.addEntry(rel);
      await writeFileEntry(root, rel, entry as unknown as Readable, budget);
      return;
    case 'SymbolicLink':
    case 'Link': {
      entry.resume();
      budget.addEntry(rel);
      const target = entry.linkpath ?? '';
      if (entry.type === 'SymbolicLink') {
        checkLinkTarget(rel, target);
        links.push({ path: rel, target, kind: 'symlink' });
      } else {
        links.push({ path: rel, target, kind: 'hardlink' });
      }
      return;
    }
    default:
      throw new BundleRejectedError(
        'unsupported-entry',
        `entry ${entry.path} has unsupported type ${entry.type}`,
      );
  }
}
