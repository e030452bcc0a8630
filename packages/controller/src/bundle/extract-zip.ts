/** The zip half of `extract.ts`: yauzl reads the archive, `extract-tree.ts` writes the entries. */
import type { Readable } from 'node:stream';
import yauzl from 'yauzl';
import { BundleRejectedError } from './errors.js';
import {
  type Budget,
  checkEntryPath,
  checkLinkTarget,
  corrupt,
  makeDirectory,
  type PendingLink,
  writeFileEntry,
} from './extract-tree.js';

/** Longest symlink target read from a zip entry (Linux PATH_MAX is 4096). */
const MAX_LINK_TARGET_BYTES = 4096;

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

export async function extractZip(
  archive: Buffer | string,
  root: string,
  budget: Budget,
): Promise<PendingLink[]> {
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
