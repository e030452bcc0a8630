/**
 * The `ConfigApplier` of dynamic upstream mode (issue 7). The reconciler hands it configs rendered
 * by `renderDynamicConfig` (hash = structure + endpoints) and it splits each apply:
 *
 * - structural change (`meta.structuralHash` differs from the one live): write the files, `nginx -t`,
 *   reload, confirm, commit (`applyConfig`, with its rollback), then push the FULL endpoint set — a
 *   reload keeps the shared dict (same master), but new services have no entry yet;
 * - endpoint-only change: push the services whose endpoints differ from what NGINX confirmed, no
 *   reload, no file write.
 *
 * After NGINX (re)starts (runner `started`/`restarted`: a new master, so an empty shared dict) the
 * full set is pushed again and `ready()` stays false until that push succeeded.
 *
 * Reload spacing: the reconciler's own `minReloadIntervalMs` would also delay endpoint pushes, so in
 * dynamic mode run the reconciler with 0 and give the interval here; it applies to reloads only.
 *
 * Pushes are retried with exponential backoff when retryable (network, timeout, 5xx); a refusal
 * (400/413: a bug on our side, the push changed nothing) is logged with its code and not retried.
 * A push that still failed is retried in the background (`repairDelayMs`) so NGINX converges even
 * when no further change arrives. Every push counts in `dynamicUpdates{result}`.
 *
 * Results tell the reconciler's metrics what happened (`ecs_ingress_nginx_reloads_total` counts
 * real reloads only): an endpoint-only apply is `{ ok: true, reloaded: false }`; a push that failed
 * is stage `push`, with `reloaded: true` when a reload had gone live before it.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '@ecs-ingress/types';
import { backoffDelay, silentLogger } from '@ecs-ingress/types';
import { errorFields } from '../log/error-fields.js';
import { type ApplyTarget, applyConfig } from '../reconciler/apply-config.js';
import type { ApplyContext, ApplyResult, ConfigApplier, RenderedConfig } from '../reconciler/types.js';
import type { DynamicControlClient } from './control-client.js';
import { dynamicMetaOf } from './dynamic-render.js';
import { DynamicControlError } from './errors.js';

/** `result` label values of `ecs_ingress_dynamic_updates_total`. */
export type DynamicUpdateResult = 'success' | 'retried' | 'failed' | 'rejected';

/** The runner events this applier listens to (NginxRunner satisfies it). */
export interface DynamicRunnerEvents {
  onEvent(listener: (event: { readonly type: string }) => void): () => void;
}

/** One push NGINX confirmed. */
export interface DynamicPushInfo {
  readonly services: readonly string[];
  /** The control endpoint's version counter after the push. */
  readonly version: number;
  /** A full push (after a reload, start or restart) rather than the changed services only. */
  readonly full: boolean;
  /** `now()` when NGINX's answer arrived: from here on every new request uses the new endpoints. */
  readonly at: number;
}

/** One service's endpoint set as NGINX last confirmed it (the debug page). */
export interface PushedEndpoints {
  readonly service: string;
  /** `ip:port`, as pushed; empty: the service has no endpoint (requests to it fail). */
  readonly endpoints: readonly string[];
  /** The control endpoint's version counter after the push that carried this set. */
  readonly version: number;
}

export interface DynamicApplierOptions {
  /** Files, test, reload, commit, rollback (the NGINX runner). */
  readonly target: ApplyTarget;
  readonly client: Pick<DynamicControlClient, 'pushEndpoints'>;
  /** When given, a (re)start triggers a full push and gates `ready()`. */
  readonly runner?: DynamicRunnerEvents;
  readonly logger?: Logger;
  readonly metrics?: { readonly dynamicUpdates: { inc(labels: { result: DynamicUpdateResult }): void } };
  /** Least time between the end of one reload and the next. Default 1000. */
  readonly minReloadIntervalMs?: number;
  /** Push attempts per apply (first try included). Default 5. */
  readonly pushAttempts?: number;
  /** First retry delay, doubled per attempt up to `retryMaxDelayMs` (the shared `backoffDelay`). Default 50. */
  readonly retryBaseDelayMs?: number;
  /** Default 1000. */
  readonly retryMaxDelayMs?: number;
  /** Background retry after an apply's attempts are spent. Default 2000. */
  readonly repairDelayMs?: number;
  /** Called after every confirmed push (tests and benchmarks read `at`). */
  readonly onPushed?: (info: DynamicPushInfo) => void;
  /** Default `performance.now`. */
  readonly now?: () => number;
}

export interface DynamicApplier extends ConfigApplier {
  /**
   * The config NGINX was (or is about to be) started with counts as live (no apply): call before the
   * runner starts, so its `started` event pushes these endpoints. Pushes at once when the runner has
   * already started.
   */
  setInitial(config: RenderedConfig): void;
  /** Pushes every live service's endpoints; true on success (then `ready()` is true). */
  pushAll(): Promise<boolean>;
  /** NGINX holds the full endpoint set since its last (re)start. */
  ready(): boolean;
  /** Resolves when `ready()` becomes true (at once if it is). */
  whenReady(): Promise<void>;
  /** Reloads and pushes so far (tests, benchmarks, debug page). */
  stats(): { readonly reloads: number; readonly pushes: number; readonly fullPushes: number };
  /** What NGINX holds since its last (re)start, per service, by name: what it really routes to. */
  pushedEndpoints(): readonly PushedEndpoints[];
  /** Stops listening to the runner and cancels the background retry. */
  close(): void;
}

// Renders hand over the same array while a service's endpoints stay (dynamic-endpoints.ts): the
// identity check settles almost every service of a large cluster at once.
const sameList = (a: readonly string[] | undefined, b: readonly string[]): boolean =>
  a === b || (a !== undefined && a.length === b.length && a.every((item, i) => item === b[i]));

function asError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}

export function createDynamicApplier(options: DynamicApplierOptions): DynamicApplier {
  const logger = (options.logger ?? silentLogger).child({ component: 'dynamic-applier' });
  const now = options.now ?? (() => performance.now());
  const minReloadIntervalMs = options.minReloadIntervalMs ?? 1000;
  const attempts = Math.max(1, options.pushAttempts ?? 5);
  const baseDelay = options.retryBaseDelayMs ?? 50;
  const maxDelay = options.retryMaxDelayMs ?? 1000;
  const repairDelayMs = options.repairDelayMs ?? 2000;

  /** Structure NGINX runs: hash and service names; undefined before `setInitial`/the first apply. */
  let live: { structuralHash: string; names: readonly string[] } | undefined;
  /** Endpoints the latest config wants. */
  let desired: Readonly<Record<string, readonly string[]>> = {};
  /** What NGINX confirmed holding, per service, since its last (re)start. */
  let pushed = new Map<string, readonly string[]>();
  /** The version of the push that last carried each service in `pushed`. */
  let pushedVersions = new Map<string, number>();
  let started = options.runner === undefined;
  let isReady = false;
  let lastReloadEndedAt: number | undefined;
  let closed = false;
  let repairTimer: NodeJS.Timeout | undefined;
  const waiters: (() => void)[] = [];
  const counts = { reloads: 0, pushes: 0, fullPushes: 0 };

  // Every push and apply runs in this chain, so a restart's full push never interleaves with an apply.
  let chain: Promise<unknown> = Promise.resolve();
  function serial<T>(task: () => Promise<T>): Promise<T> {
    const run = chain.then(task, task);
    chain = run.catch(() => undefined);
    return run;
  }

  function setReady(value: boolean): void {
    isReady = value;
    if (value) for (const resolve of waiters.splice(0)) resolve();
  }

  /** Pushes `services` with retries; updates `pushed`. Returns the error when it finally failed. */
  async function push(
    services: Record<string, readonly string[]>,
    full: boolean,
  ): Promise<Error | undefined> {
    const names = Object.keys(services);
    for (let attempt = 1; ; attempt += 1) {
      try {
        const { version } = await options.client.pushEndpoints(services);
        const at = now();
        for (const name of names) {
          pushed.set(name, services[name] ?? []);
          pushedVersions.set(name, version);
        }
        counts.pushes += 1;
        if (full) counts.fullPushes += 1;
        options.metrics?.dynamicUpdates.inc({ result: 'success' });
        options.onPushed?.({ services: names, version, full, at });
        logger.debug({ services: names.length, version, full, attempt }, 'endpoints pushed');
        return undefined;
      } catch (cause) {
        const error = asError(cause);
        const retryable = !(error instanceof DynamicControlError) || error.retryable;
        if (!retryable) {
          // A refusal means the control endpoint found our push malformed or naming an unknown
          // service: a bug, never fixed by resending the same body.
          const status = error instanceof DynamicControlError ? error.status : undefined;
          options.metrics?.dynamicUpdates.inc({ result: 'rejected' });
          logger.error(
            { code: (error as { code?: string }).code, status, err: error, services: names },
            'endpoint push refused by the control endpoint',
          );
          return error;
        }
        if (attempt >= attempts || closed) {
          options.metrics?.dynamicUpdates.inc({ result: 'failed' });
          logger.error(
            { code: (error as { code?: string }).code, err: error, attempts: attempt },
            'endpoint push failed',
          );
          scheduleRepair();
          return error;
        }
        options.metrics?.dynamicUpdates.inc({ result: 'retried' });
        const delay = backoffDelay(attempt, { initialMs: baseDelay, maxMs: maxDelay });
        logger.warn({ attempt, delayMs: delay, error: errorFields(error) }, 'endpoint push failed, retrying');
        await sleep(delay);
      }
    }
  }

  /** The desired endpoints of every live service (`[]` for a service the config has none for). */
  function fullSet(): Record<string, readonly string[]> {
    const out: Record<string, readonly string[]> = {};
    for (const name of live?.names ?? []) out[name] = desired[name] ?? [];
    return out;
  }

  /** Live services whose desired endpoints differ from what NGINX confirmed. */
  function changedSet(): Record<string, readonly string[]> {
    const out: Record<string, readonly string[]> = {};
    for (const name of live?.names ?? []) {
      const list = desired[name] ?? [];
      if (!sameList(pushed.get(name), list)) out[name] = list;
    }
    return out;
  }

  async function pushAllNow(): Promise<boolean> {
    if (live === undefined || !started) return false;
    const error = await push(fullSet(), true);
    if (error === undefined) setReady(true);
    return error === undefined;
  }

  function scheduleRepair(): void {
    if (closed || repairTimer !== undefined) return;
    repairTimer = setTimeout(() => {
      repairTimer = undefined;
      void serial(async () => {
        if (closed || live === undefined || !started) return;
        const changed = changedSet();
        if (Object.keys(changed).length === 0) return;
        logger.info({ services: Object.keys(changed).length }, 'retrying endpoints NGINX does not hold');
        if ((await push(changed, false)) === undefined && Object.keys(changedSet()).length === 0) {
          setReady(true);
        }
      });
    }, repairDelayMs);
    repairTimer.unref();
  }

  const unlisten = options.runner?.onEvent((event) => {
    if (event.type === 'exited') {
      setReady(false);
      started = false;
    } else if (event.type === 'started' || event.type === 'restarted') {
      // A new master: its shared dict is empty whatever we pushed before.
      setReady(false);
      started = true;
      pushed = new Map();
      pushedVersions = new Map();
      logger.info({ event: event.type }, 'nginx (re)started: pushing every endpoint set');
      void serial(pushAllNow);
    }
  });

  async function applyStructural(config: RenderedConfig, names: readonly string[], structuralHash: string) {
    if (lastReloadEndedAt !== undefined) {
      const wait = lastReloadEndedAt + minReloadIntervalMs - now();
      if (wait > 0) await sleep(wait);
    }
    const result = await applyConfig(config, {
      target: options.target,
      logger: options.logger ?? silentLogger,
      now,
    });
    lastReloadEndedAt = now();
    if (!result.ok) return result;
    counts.reloads += 1;
    live = { structuralHash, names };
    const error = await push(fullSet(), true);
    if (error !== undefined) return { ok: false as const, stage: 'push' as const, error, reloaded: true };
    if (started) setReady(true);
    return result;
  }

  async function apply(config: RenderedConfig, _context: ApplyContext): Promise<ApplyResult> {
    const startedAt = now();
    const meta = dynamicMetaOf(config);
    if (meta === undefined) {
      return {
        ok: false,
        stage: 'unexpected',
        error: new TypeError('dynamic applier: config was not rendered by renderDynamicConfig'),
      };
    }
    desired = meta.endpoints;
    if (meta.structuralHash !== live?.structuralHash) {
      const result = await applyStructural(config, Object.keys(meta.endpoints), meta.structuralHash);
      if (!result.ok && live !== undefined && live.structuralHash !== meta.structuralHash) {
        // The old structure keeps serving: its services still follow the store.
        const changed = changedSet();
        if (Object.keys(changed).length > 0) await push(changed, false);
      }
      return result;
    }
    const changed = changedSet();
    if (Object.keys(changed).length > 0) {
      const error = await push(changed, false);
      if (error !== undefined) return { ok: false, stage: 'push', error };
    }
    return { ok: true, durationMs: now() - startedAt, reloaded: false };
  }

  return {
    apply: (config, context) => serial(() => apply(config, context)),
    setInitial(config) {
      const meta = dynamicMetaOf(config);
      if (meta === undefined)
        throw new TypeError('setInitial: config was not rendered by renderDynamicConfig');
      live = { structuralHash: meta.structuralHash, names: Object.keys(meta.endpoints) };
      desired = meta.endpoints;
      if (started && options.runner !== undefined) void serial(pushAllNow);
    },
    pushAll: () => serial(pushAllNow),
    ready: () => isReady,
    whenReady: () =>
      isReady
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            waiters.push(resolve);
          }),
    stats: () => ({ ...counts }),
    pushedEndpoints: () =>
      [...pushed.keys()].sort().map((service) => ({
        service,
        endpoints: pushed.get(service) ?? [],
        version: pushedVersions.get(service) ?? 0,
      })),
    close() {
      closed = true;
      unlisten?.();
      if (repairTimer !== undefined) clearTimeout(repairTimer);
      repairTimer = undefined;
    },
  };
}
