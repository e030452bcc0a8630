/**
 * Archive builders for the bundle tests: zips with yazl, tars by hand with tar's Header (so the
 * tests can produce what no well-behaved tool would: devices, `..`, absolute names).
 */
import { createRequire } from 'node:module';
import { gzipSync } from 'node:zlib';
import { Header, type HeaderData } from 'tar';
import type * as Yazl from 'yazl';

/**
 * vitest runs its workers with `--conditions import` (from the workspace's resolve conditions), so
 * even Node's own require() resolves yazl's `require('buffer-crc32')` to that package's ESM build,
 * whose namespace lacks `crc32.unsigned`. Seed the require cache under the ESM path with the CJS
 * build before loading yazl.
 */
function loadYazl(): typeof Yazl {
  const require = createRequire(import.meta.url);
  const yazlRequire = createRequire(require.resolve('yazl'));
  const crcPath = yazlRequire.resolve('buffer-crc32');
  if (crcPath.endsWith('.mjs') && require.cache[crcPath] === undefined) {
    const cjs = yazlRequire(crcPath.replace(/\.mjs$/, '.cjs')) as unknown;
    require.cache[crcPath] = { id: crcPath, filename: crcPath, loaded: true, exports: cjs } as NodeJS.Module;
  }
  return yazlRequire('yazl') as typeof Yazl;
}

const yazl = loadYazl();

export interface ZipEntrySpec {
  name: string;
  content?: string | Buffer;
  /** Unix mode incl. type bits, e.g. 0o120777 for a symlink (content = target). */
  mode?: number;
  directory?: boolean;
}

/**
 * A zip of `entries`. yazl refuses `..` and absolute names, so such names are written under a
 * same-length placeholder and patched in the bytes afterwards (names are not covered by CRCs).
 */
export async function buildZip(entries: readonly ZipEntrySpec[]): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  const patches: [string, string][] = [];
  entries.forEach((entry, i) => {
    let name = entry.name;
    if (name.startsWith('/') || name.split('/').includes('..')) {
      const placeholder = `${String.fromCharCode(65 + i)}`.repeat(name.length);
      patches.push([placeholder, name]);
      name = placeholder;
    }
    if (entry.directory) {
      zip.addEmptyDirectory(name, entry.mode !== undefined ? { mode: entry.mode } : {});
    } else {
      const body =
        typeof entry.content === 'string' ? Buffer.from(entry.content) : (entry.content ?? Buffer.alloc(0));
      zip.addBuffer(body, name, entry.mode !== undefined ? { mode: entry.mode } : {});
    }
  });
  zip.end();
  const chunks: Buffer[] = [];
  for await (const chunk of zip.outputStream) chunks.push(chunk as Buffer);
  let bytes: Buffer = Buffer.concat(chunks);
  for (const [from, to] of patches) bytes = replaceAll(bytes, Buffer.from(from), Buffer.from(to));
  return bytes;
}

function replaceAll(haystack: Buffer, from: Buffer, to: Buffer): Buffer {
  const out = Buffer.from(haystack);
  let at = out.indexOf(from);
  while (at !== -1) {
    to.copy(out, at);
    at = out.indexOf(from, at + from.length);
  }
  return out;
}

export interface TarEntrySpec extends Omit<HeaderData, 'size'> {
  path: string;
  content?: string | Buffer;
}

/** A tar (gzipped unless `gzip: false`) of hand-made headers. */
export function buildTar(entries: readonly TarEntrySpec[], options: { gzip?: boolean } = {}): Buffer {
  const blocks: Buffer[] = [];
  for (const entry of entries) {
    const { content, ...data } = entry;
    const body = typeof content === 'string' ? Buffer.from(content) : (content ?? Buffer.alloc(0));
    const type = data.type ?? 'File';
    const header = new Header({
      mode: type === 'Directory' ? 0o755 : 0o644,
      mtime: new Date(0),
      uid: 0,
      gid: 0,
      ...data,
      type,
      size: type === 'File' ? body.length : 0,
    });
    const block = Buffer.alloc(512);
    header.encode(block, 0);
    blocks.push(block);
    if (type === 'File' && body.length > 0) {
      blocks.push(body, Buffer.alloc((512 - (body.length % 512)) % 512));
    }
  }
  blocks.push(Buffer.alloc(1024));
  const tar = Buffer.concat(blocks);
  return options.gzip === false ? tar : gzipSync(tar);
}

export const MINIMAL_CONF = 'events {}\n';

/**
 * Rewrites the declared uncompressed size of entry `name` (local header and central directory),
 * like a crafted zip bomb that lies about its size.
 */
export function lieAboutSize(zip: Buffer, name: string, declared: number): Buffer {
  const out = Buffer.from(zip);
  const nameBytes = Buffer.from(name);
  for (let at = 0; at + 46 <= out.length; at++) {
    const signature = out.readUInt32LE(at);
    if (signature === 0x04034b50 && out.subarray(at + 30, at + 30 + nameBytes.length).equals(nameBytes)) {
      out.writeUInt32LE(declared, at + 22);
    } else if (
      signature === 0x02014b50 &&
      out.subarray(at + 46, at + 46 + nameBytes.length).equals(nameBytes)
    ) {
      out.writeUInt32LE(declared, at + 24);
    }
  }
  return out;
}
