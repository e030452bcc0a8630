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
 *
 * The archive formats are the libraries' (yauzl reads zip, tar's streaming Parser reads tar and
 * tar.gz: `extract-zip.ts`, `extract-tar.ts`); what is written here is the policy above, which
 * tar's own extractor does not offer (it sanitises names and has no byte budget) and yauzl leaves
 * to its caller (`extract-tree.ts`).
 */
import { mkdir, open, readdir, realpath } from 'node:fs/promises';
import { BundleRejectedError } from './errors.js';
import { extractTar } from './extract-tar.js';
import { Budget, checkMainFile, createLinks } from './extract-tree.js';
import { extractZip } from './extract-zip.js';

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
