/**
 * Adapters from the components' hook interfaces to the Prometheus metrics, so the components know
 * nothing of prom-client and the metric names live in one place (metrics.ts).
 */

import { sameUpstreamNames } from '@ecs-ingress/renderer';
import type { DispatchOutcome, SyncOutcome } from '@ecs-ingress/sources';
import { AWS_PROBLEM_REASONS } from '@ecs-ingress/sources';
import type { Upstream } from '@ecs-ingress/types';
import type { ApplyOutcome, ReconcilerMetrics } from '../reconciler/pipeline.js';
import type { ApplyStage } from '../reconciler/types.js';
import type { Metrics } from './metrics.js';

/** What the store reports per event (the `outcome` label of `ecs_ingress_events_applied_total`). */
export type StoreOutcome = DispatchOutcome;

/** The `result` label of `ecs_ingress_nginx_reloads_total` for a failed apply stage. */
export type ReloadResult = 'success' | 'test_failed' | 'reload_failed';

export interface ReconcilerMetricsOptions {
  /** Wall clock in ms for the last-success timestamp (default `Date.now`; the reconciler's may be virtual). */
  now?: () => number;
}

/**
 * `ReconcilerMetrics` hooks feeding:
 * - `renders_total{result}`: changed / unchanged per rendered state, `error` when render threw;
 * - `reconciles_total{result}`: unchanged (a render equal to what is applied), changed (an apply
 *   went live), failed (an apply or a render failed);
 * - on every apply that reloaded or tried to: `nginx_reloads_total{result}` (a failure before the
 *   reload, at `write`, counts as `reload_failed`: the new config did not go live),
 *   `nginx_last_reload_success`;
 * - on success: `config_hash_info` (only the live hash keeps a series), the event-to-serving
 *   latency, the upstream gauges from `meta.upstreams`, and for a reload its duration (the
 *   applier's whole write + test + reload + confirm, as the metric's help says) and wall-clock time;
 * - on a test failure: `nginx_config_test_failures_total`.
 *
 * Dynamic upstream mode: an apply that put endpoints live without a reload (`reloaded: false`) and
 * a failed push (stage `push`) are not reloads; the applier counts its pushes in
 * `dynamic_updates_total{result}` itself. A push that failed after a reload went live
 * (`reloaded: true`) counts that reload as a success.
 */
export function reconcilerMetrics(
  metrics: Metrics,
  options: ReconcilerMetricsOptions = {},
): ReconcilerMetrics {
  const now = options.now ?? Date.now;
  return {
    onRender(changed) {
      metrics.renders.inc({ result: changed ? 'changed' : 'unchanged' });
      if (!changed) metrics.reconciles.inc({ result: 'unchanged' });
    },
    onRenderError() {
      metrics.renders.inc({ result: 'error' });
      metrics.reconciles.inc({ result: 'failed' });
    },
    onApply(outcome: ApplyOutcome) {
      if (!outcome.ok) {
        metrics.reconciles.inc({ result: 'failed' });
        if (outcome.reloaded === true) {
          metrics.reloads.inc({ result: 'success' });
          metrics.lastReloadSuccess.set(1);
          metrics.lastReloadSuccessTimestamp.set(now() / 1000);
        } else if (outcome.stage !== 'push') {
          metrics.reloads.inc({ result: reloadResultOf(outcome.stage) });
          if (outcome.stage === 'test') metrics.configTestFailures.inc();
          metrics.lastReloadSuccess.set(0);
        }
        return;
      }
      metrics.reconciles.inc({ result: 'changed' });
      if (outcome.reloaded !== false) {
        metrics.reloads.inc({ result: 'success' });
        metrics.reloadDurationSeconds.observe(outcome.durationMs / 1000);
        metrics.lastReloadSuccess.set(1);
        metrics.lastReloadSuccessTimestamp.set(now() / 1000);
      }
      metrics.eventToServingSeconds.observe(outcome.latencyMs / 1000);
      setConfigHash(metrics, outcome.hash);
      const upstreams = upstreamsOfMeta(outcome.meta);
      if (upstreams !== undefined) setUpstreamGauges(metrics, upstreams);
    },
  };
}

/** `test` → test_failed; write, reload and unexpected failures → reload_failed (`push` is no reload). */
export function reloadResultOf(stage: ApplyStage): Exclude<ReloadResult, 'success'> {
  return stage === 'test' ? 'test_failed' : 'reload_failed';
}

/** The applied config's hash as the only `ecs_ingress_config_hash_info` series. */
export function setConfigHash(metrics: Metrics, hash: string): void {
  // reset() first: an info metric with the old hash left at 1 would claim two configs are live.
  metrics.configHash.reset();
  metrics.configHash.set({ hash }, 1);
}

/**
 * `ecs_ingress_upstreams` and one `ecs_ingress_upstream_servers{upstream}` per upstream. Also for the
 * config NGINX was started with (`setInitialApplied`), which produces no `onApply`.
 */
export function setUpstreamGauges(metrics: Metrics, upstreams: readonly Upstream[]): void {
  metrics.upstreams.set(upstreams.length);
  // Only the series that changed are touched: resetting and setting all of them cost ~17 ms per
  // apply at 5,000 services, on the path from an event to serving it.
  const last = published.get(metrics);
  if (last !== undefined && sameUpstreamNames(last.upstreams, upstreams)) {
    // The same names at the same places: the derivation hands back the same object for every
    // service whose tasks did not change, so only the positions holding a new object can differ.
    for (let i = 0; i < upstreams.length; i++) {
      const upstream = upstreams[i] as Upstream;
      if (upstream === last.upstreams[i]) continue;
      const count = upstream.servers.length;
      if (last.counts.get(upstream.name) === count) continue;
      metrics.upstreamServers.set({ upstream: upstream.name }, count);
      last.counts.set(upstream.name, count);
    }
    published.set(metrics, { upstreams, counts: last.counts });
    return;
  }
  const before = last?.counts ?? new Map<string, number>();
  const counts = new Map<string, number>();
  for (const upstream of upstreams) {
    const count = upstream.servers.length;
    counts.set(upstream.name, count);
    if (before.get(upstream.name) !== count) {
      metrics.upstreamServers.set({ upstream: upstream.name }, count);
    }
  }
  // A removed service loses its series instead of keeping its last count.
  for (const name of before.keys()) {
    if (!counts.has(name)) metrics.upstreamServers.remove({ upstream: name });
  }
  published.set(metrics, { upstreams, counts });
}

/** The `ecs_ingress_upstream_servers` series last published per registry: the list and name → count. */
const published = new WeakMap<
  Metrics,
  { readonly upstreams: readonly Upstream[]; readonly counts: Map<string, number> }
>();

/** `meta.upstreams` when the applied config carries it (the renderer puts it there), else undefined. */
export function upstreamsOfMeta(meta: unknown): readonly Upstream[] | undefined {
  if (typeof meta !== 'object' || meta === null) return undefined;
  const upstreams = (meta as { upstreams?: unknown }).upstreams;
  if (!Array.isArray(upstreams)) return undefined;
  const valid = upstreams.every(
    (u: unknown) =>
      typeof u === 'object' &&
      u !== null &&
      typeof (u as { name?: unknown }).name === 'string' &&
      Array.isArray((u as { servers?: unknown }).servers),
  );
  return valid ? (upstreams as readonly Upstream[]) : undefined;
}

/**
 * An event reached the store: `ecs_ingress_events_applied_total{outcome}`. The sources count
 * `ecs_ingress_events_received_total` themselves when they receive (sqs, poller, health), so this
 * does not, or every event would count twice; use `recordEventReceived` for a source that does not.
 */
export function recordStoreOutcome(metrics: Metrics, outcome: StoreOutcome): void {
  metrics.eventsApplied.inc({ outcome });
}

/** `ecs_ingress_events_received_total{source, detail_type}` for a source that does not count itself (replay). */
export function recordEventReceived(metrics: Metrics, source: string, detailType: string): void {
  metrics.eventsReceived.inc({ source, detail_type: detailType });
}

/**
 * NGINX started on a config (first render or last known good): the config it serves is live from
 * the first scrape, so the hash, the upstream gauges and the last successful load say so, though
 * no reload happened (dynamic mode may never reload at all).
 */
export function recordStartedConfig(
  metrics: Metrics,
  started: { readonly hash: string; readonly upstreams: readonly Upstream[] },
  now: () => number = Date.now,
): void {
  setConfigHash(metrics, started.hash);
  setUpstreamGauges(metrics, started.upstreams);
  metrics.lastReloadSuccess.set(1);
  metrics.lastReloadSuccessTimestamp.set(now() / 1000);
}

/** A reload outside the reconciler (a new config bundle): `nginx_reloads_total` and the last-reload gauges. */
export function recordNginxReload(
  metrics: Metrics,
  result: { readonly ok: boolean; readonly durationMs: number },
  now: () => number = Date.now,
): void {
  metrics.reloads.inc({ result: result.ok ? 'success' : 'reload_failed' });
  metrics.lastReloadSuccess.set(result.ok ? 1 : 0);
  if (!result.ok) return;
  metrics.reloadDurationSeconds.observe(result.durationMs / 1000);
  metrics.lastReloadSuccessTimestamp.set(now() / 1000);
}

/** The supervisor's sync outcomes: `full_syncs_total{result}` and `aws_permanent_error{reason}`. */
export function syncMetrics(metrics: Metrics): (outcome: SyncOutcome) => void {
  return (outcome) => {
    metrics.fullSyncs.inc({ result: outcome.ok ? 'success' : 'error' });
    // A transient failure leaves the gauge as it was: the problem stands until a sync succeeds.
    if (!outcome.ok && outcome.problem === undefined) return;
    const active = outcome.ok ? undefined : outcome.problem?.reason;
    for (const reason of AWS_PROBLEM_REASONS)
      metrics.awsPermanentError.set({ reason }, reason === active ? 1 : 0);
  };
}
