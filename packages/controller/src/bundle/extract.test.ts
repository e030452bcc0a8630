import { lstat, mkdtemp, readdir, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildTar, buildZip, lieAboutSize, MINIMAL_CONF } from '@ecs-ingress/testkit/archives';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BundleRejectedError, type BundleRejectReason } from './errors.js';
import { detectArchiveFormat, extractBundle } from './extract.js';
import { checkEntryPath } from './extract-tree.js';

let tmp: string;
beforeEach(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'ecs-ingress-extract-'));
});
afterEach(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const MiB = 1024 * 1024;

async function rejection(promise: Promise<unknown>): Promise<BundleRejectedError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(BundleRejectedError);
  const rejected = error as BundleRejectedError;
  expect(rejected.code).toBe('ECS_INGRESS_BUNDLE_REJECTED');
  return rejected;
}

describe('extractBundle: good archives', () => {
  const files = {
    'nginx.conf': 'events {}\nhttp { include conf.d/*.conf; }\n',
    'conf.d/app.conf': 'server { listen 127.0.0.1:1; }\n',
  };

  it.each([
    [
      'zip',
      () =>
        buildZip([
          { name: 'conf.d/', directory: true },
          ...Object.entries(files).map(([name, content]) => ({ name, content })),
        ]),
    ],
    [
      'tar.gz',
      async () =>
        buildTar([
          { path: 'conf.d/', type: 'Directory' as const },
          ...Object.entries(files).map(([path, content]) => ({ path, content })),
        ]),
    ],
    [
      'tar',
      async () =>
        buildTar(
          [
            { path: './', type: 'Directory' as const },
            ...Object.entries(files).map(([path, content]) => ({ path: `./${path}`, content })),
          ],
          { gzip: false },
        ),
    ],
  ])('%s: extracts every file with its content', async (format, build) => {
    const dest = join(tmp, 'out');
    const result = await extractBundle(await build(), dest, { mainFile: 'nginx.conf' });
    expect(result.format).toBe(format);
    expect(result.bytes).toBe(Object.values(files).reduce((n, c) => n + c.length, 0));
    for (const [name, content] of Object.entries(files)) {
      expect(await readFile(join(dest, name), 'utf8')).toBe(content);
    }
    expect((await readdir(dest)).sort()).toEqual(['conf.d', 'nginx.conf']);
  });

  it('reads an archive from a file path too', async () => {
    const archive = join(tmp, 'bundle.bin');
    await writeFile(archive, buildTar([{ path: 'nginx.conf', content: MINIMAL_CONF }]));
    const result = await extractBundle(archive, join(tmp, 'out'), { mainFile: 'nginx.conf' });
    expect(result).toMatchObject({ files: 1, format: 'tar.gz' });
  });

  it.each([
    [
      'zip',
      () =>
        buildZip([
          { name: 'nginx.conf', content: MINIMAL_CONF },
          { name: 'sites/a.conf', content: 'x' },
          { name: 'enabled/a.conf', content: '../sites/a.conf', mode: 0o120777 },
        ]),
    ],
    [
      'tar.gz',
      async () =>
        buildTar([
          { path: 'nginx.conf', content: MINIMAL_CONF },
          { path: 'sites/a.conf', content: 'x' },
          { path: 'enabled/a.conf', type: 'SymbolicLink' as const, linkpath: '../sites/a.conf' },
        ]),
    ],
  ])('%s: a symlink that stays inside the tree is kept as a link', async (_format, build) => {
    const dest = join(tmp, 'out');
    await extractBundle(await build(), dest, { mainFile: 'nginx.conf' });
    expect((await lstat(join(dest, 'enabled/a.conf'))).isSymbolicLink()).toBe(true);
    expect(await readlink(join(dest, 'enabled/a.conf'))).toBe('../sites/a.conf');
    expect(await readFile(join(dest, 'enabled/a.conf'), 'utf8')).toBe('x');
  });

  it('a tar hard link becomes a copy of the file it names', async () => {
    const dest = join(tmp, 'out');
    const archive = buildTar([
      { path: 'nginx.conf', content: MINIMAL_CONF },
      { path: 'copy.conf', type: 'Link', linkpath: 'nginx.conf' },
    ]);
    const result = await extractBundle(archive, dest, { mainFile: 'nginx.conf' });
    expect(await readFile(join(dest, 'copy.conf'), 'utf8')).toBe(MINIMAL_CONF);
    expect((await lstat(join(dest, 'copy.conf'))).isFile()).toBe(true);
    expect(result.bytes).toBe(MINIMAL_CONF.length * 2);
  });
});

interface BadCase {
  name: string;
  reason: BundleRejectReason | BundleRejectReason[];
  build: () => Promise<Buffer> | Buffer;
  limits?: { maxFiles?: number; maxBytes?: number; maxFileBytes?: number };
}

const main = { name: 'nginx.conf', content: MINIMAL_CONF };
const mainTar = { path: 'nginx.conf', content: MINIMAL_CONF };

const badCases: BadCase[] = [
  {
    name: 'zip: absolute path',
    reason: 'absolute-path',
    build: () => buildZip([main, { name: '/etc/cron.d/x', content: 'x' }]),
  },
  {
    name: 'tar: absolute path',
    reason: 'absolute-path',
    build: () => buildTar([mainTar, { path: '/etc/cron.d/x', content: 'x' }]),
  },
  {
    name: 'zip: ../ traversal',
    reason: 'path-traversal',
    build: () => buildZip([main, { name: '../../evil.conf', content: 'x' }]),
  },
  {
    name: 'zip: traversal in the middle',
    reason: 'path-traversal',
    build: () => buildZip([main, { name: 'a/../../evil', content: 'x' }]),
  },
  {
    name: 'tar: ../ traversal',
    reason: 'path-traversal',
    build: () => buildTar([mainTar, { path: '../evil.conf', content: 'x' }]),
  },
  {
    name: 'zip: symlink to /etc/passwd',
    reason: 'link-outside',
    build: () => buildZip([main, { name: 'passwd', content: '/etc/passwd', mode: 0o120777 }]),
  },
  {
    name: 'tar: symlink to /etc/passwd',
    reason: 'link-outside',
    build: () => buildTar([mainTar, { path: 'passwd', type: 'SymbolicLink', linkpath: '/etc/passwd' }]),
  },
  {
    name: 'tar: relative symlink escaping the tree',
    reason: 'link-outside',
    build: () => buildTar([mainTar, { path: 'a/up', type: 'SymbolicLink', linkpath: '../../etc' }]),
  },
  {
    name: 'tar: escape through a chain of in-tree links',
    reason: 'link-outside',
    // `d -> .` is inside; `d/x/l -> ../..` looks inside lexically but lies under the link `d`.
    build: () =>
      buildTar([
        mainTar,
        { path: 'd', type: 'SymbolicLink', linkpath: '.' },
        { path: 'd/x/l', type: 'SymbolicLink', linkpath: '../..' },
      ]),
  },
  {
    name: 'tar: dangling symlink',
    reason: 'link-dangling',
    build: () => buildTar([mainTar, { path: 'gone.conf', type: 'SymbolicLink', linkpath: 'nothing.conf' }]),
  },
  {
    name: 'tar: hard link to outside',
    reason: 'path-traversal',
    build: () => buildTar([mainTar, { path: 'h', type: 'Link', linkpath: '../../etc/passwd' }]),
  },
  {
    name: 'tar: character device',
    reason: 'device-file',
    build: () => buildTar([mainTar, { path: 'null', type: 'CharacterDevice', devmaj: 1, devmin: 3 }]),
  },
  {
    name: 'tar: block device',
    reason: 'device-file',
    build: () => buildTar([mainTar, { path: 'sda', type: 'BlockDevice', devmaj: 8, devmin: 0 }]),
  },
  {
    name: 'tar: fifo',
    reason: 'device-file',
    build: () => buildTar([mainTar, { path: 'pipe', type: 'FIFO' }]),
  },
  {
    name: 'zip: character device mode',
    reason: 'device-file',
    build: () => buildZip([main, { name: 'null', content: '', mode: 0o020666 }]),
  },
  {
    name: 'zip: too many files',
    reason: 'too-many-files',
    limits: { maxFiles: 10 },
    build: () =>
      buildZip([main, ...Array.from({ length: 10 }, (_, i) => ({ name: `f${i}.conf`, content: 'x' }))]),
  },
  {
    name: 'tar: too many files',
    reason: 'too-many-files',
    limits: { maxFiles: 10 },
    build: () =>
      buildTar([mainTar, ...Array.from({ length: 10 }, (_, i) => ({ path: `f${i}.conf`, content: 'x' }))]),
  },
  {
    // Each entry is under the per-file limit and declares its size honestly: only the running
    // total, counted while inflating, catches it.
    name: 'zip bomb: entries of zeros adding up past maxBytes',
    reason: 'too-large',
    limits: { maxBytes: 1 * MiB },
    build: () =>
      buildZip([
        main,
        ...Array.from({ length: 4 }, (_, i) => ({ name: `z${i}`, content: Buffer.alloc(400 * 1024) })),
      ]),
  },
  {
    name: 'zip bomb: one entry declaring more than allowed',
    reason: 'too-large',
    limits: { maxBytes: 1 * MiB },
    build: () => buildZip([main, { name: 'zeros', content: Buffer.alloc(8 * MiB) }]),
  },
  {
    // tar headers declare sizes too, but nothing checks them before the bytes arrive.
    name: 'tar.gz bomb: 8 MiB of zeros in a few KB',
    reason: 'too-large',
    limits: { maxBytes: 1 * MiB },
    build: () => buildTar([mainTar, { path: 'zeros', content: Buffer.alloc(8 * MiB) }]),
  },
  {
    name: 'per-file limit',
    reason: 'too-large',
    limits: { maxFileBytes: 100 },
    build: () => buildTar([mainTar, { path: 'big', content: Buffer.alloc(101) }]),
  },
  { name: 'not an archive', reason: 'not-an-archive', build: () => Buffer.from('events {}\nhttp {}\n') },
  { name: 'empty input', reason: 'not-an-archive', build: () => Buffer.alloc(0) },
  { name: 'truncated gzip', reason: 'corrupt-archive', build: () => buildTar([mainTar]).subarray(0, 20) },
  {
    name: 'zip: missing main file',
    reason: 'missing-main-file',
    build: () => buildZip([{ name: 'other.conf', content: MINIMAL_CONF }]),
  },
  {
    name: 'tar: main file only in a subdirectory',
    reason: 'missing-main-file',
    build: () => buildTar([{ path: 'bundle/nginx.conf', content: MINIMAL_CONF }]),
  },
  { name: 'tar: duplicate entry', reason: 'duplicate-entry', build: () => buildTar([mainTar, mainTar]) },
];

describe('extractBundle: malicious or broken archives', () => {
  it.each(badCases)('$name → $reason', async ({ reason, build, limits }) => {
    const dest = join(tmp, 'out');
    const error = await rejection(extractBundle(await build(), dest, { ...limits, mainFile: 'nginx.conf' }));
    expect(Array.isArray(reason) ? reason : [reason]).toContain(error.reason);
  });

  it('writes nothing outside the destination for a traversal archive', async () => {
    const dest = join(tmp, 'deep', 'out');
    await rejection(extractBundle(await buildZip([{ name: '../../evil.conf', content: 'x' }]), dest));
    expect(await readdir(tmp)).toEqual(['deep']);
    expect(await readdir(join(tmp, 'deep'))).toEqual(['out']);
  });

  it('zip bomb whose headers lie about the size: stopped while inflating, nothing big written', async () => {
    const dest = join(tmp, 'out');
    const bomb = lieAboutSize(
      await buildZip([main, { name: 'zeros', content: Buffer.alloc(8 * MiB) }]),
      'zeros',
      100,
    );
    const error = await rejection(extractBundle(bomb, dest, { maxBytes: 1 * MiB, mainFile: 'nginx.conf' }));
    // yauzl's own size validation or our streamed count, whichever trips first.
    expect(['too-large', 'corrupt-archive']).toContain(error.reason);
    const written = await lstat(join(dest, 'zeros')).catch(() => undefined);
    expect(written?.size ?? 0).toBeLessThanOrEqual(1 * MiB);
  });

  it('leaves the partial tree in place for inspection', async () => {
    const dest = join(tmp, 'out');
    const archive = buildTar([mainTar, { path: 'null', type: 'CharacterDevice', devmaj: 1, devmin: 3 }]);
    await rejection(extractBundle(archive, dest));
    expect(await readFile(join(dest, 'nginx.conf'), 'utf8')).toBe(MINIMAL_CONF);
  });

  it('names the nested main file when the directory itself was archived', async () => {
    const error = await rejection(
      extractBundle(buildTar([{ path: 'bundle/nginx.conf', content: MINIMAL_CONF }]), join(tmp, 'out'), {
        mainFile: 'nginx.conf',
      }),
    );
    expect(error.message).toContain('bundle/nginx.conf');
  });

  it('refuses a non-empty destination', async () => {
    await writeFile(join(tmp, 'x'), 'x');
    await expect(extractBundle(buildTar([mainTar]), tmp)).rejects.toThrow(/not empty/);
  });
});

describe('entry names and formats', () => {
  it.each([
    ['nginx.conf', 'nginx.conf'],
    ['./conf.d/a.conf', 'conf.d/a.conf'],
    ['conf.d//a.conf', 'conf.d/a.conf'],
    ['dir/', 'dir'],
    ['./', ''],
  ])('%s → %s', (name, expected) => {
    expect(checkEntryPath(name)).toBe(expected);
  });

  it.each([
    ['/etc/passwd', 'absolute-path'],
    ['C:/x', 'absolute-path'],
    ['..', 'path-traversal'],
    ['a/../../b', 'path-traversal'],
  ])('%s is refused (%s)', (name, reason) => {
    expect(() => checkEntryPath(name)).toThrow(expect.objectContaining({ reason }));
  });

  it.each([
    ['zip', Buffer.from('PK\x03\x04rest', 'latin1'), 'zip'],
    ['gzip', Buffer.from([0x1f, 0x8b, 8, 0]), 'tar.gz'],
    ['text', Buffer.from('hello'), undefined],
  ])('detects %s by magic bytes', (_name, bytes, format) => {
    expect(detectArchiveFormat(bytes)).toBe(format);
  });
});
