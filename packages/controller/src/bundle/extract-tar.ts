/** The tar and tar.gz half of `extract.ts`: tar's streaming Parser reads, `extract-tree.ts` writes. */
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { Parser, type ReadEntry } from 'tar';
import { BundleRejectedError } from './errors.js';
import {
  type Budget,
  checkEntryPath,
  checkLinkTarget,
  corrupt,
  makeDirectory,
  type PendingLink,
  type ResolvedLimits,
  writeFileEntry,
} from './extract-tree.js';

/**
 * Bound on the decompressed tar stream as a whole: headers (512 B, plus long-name and pax records)
 * and padding come on top of the file bytes. Without it, a gzip of a few KB could inflate to
 * gigabytes of zero blocks or padding that no file-size count ever sees.
 */
function tarStreamLimit(limits: ResolvedLimits): number {
  return limits.maxBytes + (limits.maxFiles + 2) * 4 * 512 + 1024 * 1024;
}

export async function extractTar(
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
