import type { NginxRunner } from '@ecs-ingress/nginx-runner';
import { silentLogger } from '@ecs-ingress/types';
import { of, Subject } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { ActivatedBundle, BundleManager, StagedBundle } from '../bundle/bundle-manager.js';
import type { BundleCandidate, BundleSource } from '../bundle/sources.js';
import { ApplyGate } from './apply-gate.js';
import { watchBundles } from './bundle-watch.js';

function candidate(id: string): BundleCandidate {
  return { id, origin: `test:${id}`, materialise: async () => {} };
}

/** A manager whose `activate` fails for the ids in `failActivate` (a disk error, say). */
function fakeManager(failActivate: ReadonlySet<string>, confirmed: string[]): BundleManager {
  const manager = {
    current: async (): Promise<StagedBundle | undefined> => undefined,
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
      stop: () => candidates.complete(),
    };
    const confirmed: string[] = [];
    const results: { bundleId: string; ok: boolean }[] = [];
    let reloads = 0;
    const runner = { reload: async () => void reloads++ } as unknown as NginxRunner;
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
    expect(subscription.closed).toBe(false);
    subscription.unsubscribe();
  });
});
