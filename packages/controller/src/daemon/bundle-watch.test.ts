import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NginxRunner } from '@ecs-ingress/nginx-runner';
import { silentLogger } from '@ecs-ingress/types';
import { map, of, Subject } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type ActivatedBundle,
  BundleManager,
  type BundleTester,
  type StagedBundle,
} from '../bundle/bundle-manager.js';
import { DirectoryBundleSource } from '../bundle/directory-bundle-source.js';
import { BundleRejectedError } from '../bundle/errors.js';
import type { BundleCandidate, BundleSource } from '../bundle/sources.js';
import { ApplyGate } from './apply-gate.js';
import { watchBundles } from './bundle-watch.js';

function candidate(id: string): BundleCandidate {
  return { id, origin: `test:${id}`, materialise: async () => {} };
}

let tmp: string | undefined;
afterEach(async () => {
  if (tmp !== undefined) await rm(tmp, { recursive: true, force: true });
  tmp = undefined;
});

/** Bounded wait (at most ~2 s) until `done()`; the assertions that follow say what was missing. */
function until(done: () => boolean): Promise<void> {
  return new Promise<void>((resolve) => {
    let tries = 0;
    const poll = () => (done() || tries++ > 400 ? resolve() : setTimeout(poll, 5));
    poll();
  });
}

/**
 * A real directory source whose candidates fail to materialise while `failures` > 0, as a disk
 * error would (EIO); `forgotten` records what the watch asked it to forget.
 */
function flakySource(
  inner: DirectoryBundleSource,
  failures: { left: number },
  forgotten: string[],
): BundleSource {
  return {
    candidates$: inner.candidates$.pipe(
      map((c) => ({
        ...c,
        materialise: async (dir: string, limits: Parameters<BundleCandidate['materialise']>[1]) => {
          if (failures.left > 0) {
            failures.left -= 1;
            throw Object.assign(new Error(`EIO: i/o error, read '${c.origin}/nginx.conf'`), { code: 'EIO' });
          }
          await c.materialise(dir, limits);
        },
      })),
    ),
    check: () => inner.check(),
    forget: (id) => {
      forgotten.push(id);
      inner.forget(id);
    },
    stop: () => inner.stop(),
  };
}

/** A manager whose `activate` fails for the ids in `failActivate` (a disk error, say). */
function fakeManager(failActivate: ReadonlySet<string>, confirmed: string[]): BundleManager {
  const manager = {
    current: async (): Promise<StagedBundle | undefined> => undefined,
    rejectionOf: () => undefined,
    stage: async (c: BundleCandidate): Promise<StagedBundle> => ({
      id: c.id,
      dir: `/bundles/${c.id}`,
      mainFile: `/bundles/${c.id}/nginx.conf`,
    }),
    activate: async (bundle: StagedBundle): Promise<ActivatedBundle> => {
      if (failActivate.has(bundle.id)) throw new Error(`EIO: cannot flip current to ${bundle.id}`);
      return {
        bundle,
        previous: undefined,
        confirm: async () => void confirmed.push(bundle.id),
        revert: async () => {},
      };
    },
  };
  return manager as unknown as BundleManager;
}

describe('watchBundles', () => {
  it('keeps watching after applying one bundle throws: the next bundle still goes live', async () => {
    const candidates = new Subject<BundleCandidate>();
    const source: BundleSource = {
      candidates$: candidates,
      check: async () => undefined,
      forget: () => {},
      stop: () => candidates.complete(),
    };
    const confirmed: string[] = [];
    const results: { bundleId: string; ok: boolean }[] = [];
    let reloads = 0;
    const runner = { reload: async () => void reloads++ } as unknown as NginxRunner;
    // Bundle reloads are reloads: reported for nginx_reloads_total and the last-reload gauges.
    const reported: boolean[] = [];
    // Bounded wait (at most ~1 s) for the n-th result; the assertions below say what was missing.
    const settled = (n: number) =>
      new Promise<void>((resolve) => {
        let tries = 0;
        const poll = () => (results.length >= n || tries++ > 200 ? resolve() : setTimeout(poll, 5));
        poll();
      });

    const subscription = watchBundles({
      source,
      manager: fakeManager(new Set(['broken-disk']), confirmed),
      gate: new ApplyGate<unknown>(of(0)),
      drain: async () => {},
      runner,
      logger: silentLogger,
      onReload: (r) => reported.push(r.ok),
      onResult: (r) => results.push({ bundleId: r.bundleId, ok: r.ok }),
    });
    candidates.next(candidate('broken-disk'));
    await settled(1);
    candidates.next(candidate('good'));
    await settled(2);

    expect(results).toEqual([
      { bundleId: 'broken-disk', ok: false },
      { bundleId: 'good', ok: true },
    ]);
    expect(confirmed).toEqual(['good']);
    expect(reloads).toBe(1);
    expect(reported).toEqual([true]);
    expect(subscription.closed).toBe(false);
    subscription.unsubscribe();
  });
});

describe('watchBundles with a real BundleManager and directory source', () => {
  async function setUp(options: { tester: BundleTester; failures: number }) {
    tmp = await mkdtemp(join(tmpdir(), 'ecs-ingress-bundle-watch-'));
    const dir = join(tmp, 'conf');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'nginx.conf'), 'events {}\n');
    const inner = new DirectoryBundleSource({ dir, watch: false, pollIntervalMs: 20 });
    const forgotten: string[] = [];
    const source = flakySource(inner, { left: options.failures }, forgotten);
    const manager = new BundleManager({
      workDir: join(tmp, 'work'),
      upstreamsFile: '/dev/null',
      tester: options.tester,
    });
    const results: { bundleId: string; ok: boolean; reason?: string }[] = [];
    let reloads = 0;
    const subscription = watchBundles({
      source,
      manager,
      gate: new ApplyGate<unknown>(of(0)),
      drain: async () => {},
      runner: { reload: async () => void reloads++ } as unknown as NginxRunner,
      logger: silentLogger,
      onResult: (r) =>
        results.push({
          bundleId: r.bundleId,
          ok: r.ok,
          ...(r.error instanceof BundleRejectedError ? { reason: r.error.reason } : {}),
        }),
    });
    return { inner, manager, results, forgotten, reloads: () => reloads, subscription };
  }

  it('a bundle that could not be read (I/O error) is forgotten by the source and goes live at the next check', async () => {
    const t = await setUp({ tester: async () => ({ ok: true, output: '', errors: [] }), failures: 1 });
    await until(() => t.results.some((r) => r.ok));
    t.subscription.unsubscribe();
    t.inner.stop();

    const id = t.results[0]?.bundleId ?? '';
    expect(t.results).toEqual([
      { bundleId: id, ok: false, reason: 'unreadable' },
      { bundleId: id, ok: true },
    ]);
    expect(t.forgotten).toEqual([id]);
    expect((await t.manager.current())?.id).toBe(id);
    expect(t.reloads()).toBe(1);
  });

  it('a bundle NGINX refuses is not forgotten: it is not retried until it changes', async () => {
    let tests = 0;
    const t = await setUp({
      tester: async () => {
        tests += 1;
        return {
          ok: false,
          output: 'nginx: [emerg] unknown directive "bogus"',
          errors: ['unknown directive "bogus"'],
        };
      },
      failures: 0,
    });
    await until(() => t.results.length > 0);
    // Several periodic checks (20 ms apart) of the unchanged directory: none may offer it again.
    await new Promise((resolve) => setTimeout(resolve, 200));
    t.subscription.unsubscribe();
    t.inner.stop();

    expect(t.results).toEqual([{ bundleId: expect.any(String), ok: false, reason: 'nginx-test-failed' }]);
    expect(t.forgotten).toEqual([]);
    expect(tests).toBe(1);
    expect(t.reloads()).toBe(0);
  });
});
