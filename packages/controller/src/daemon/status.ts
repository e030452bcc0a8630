/**
 * What the daemon's HTTP endpoints report (the `StatusProvider` of http/server.ts).
 *
 * - /healthz: the process answers and NGINX is alive — or not started yet (a daemon waiting for its
 *   first sync while AWS is unreachable is healthy: killing it would not help). It fails when the
 *   NGINX master we started is gone or crash-looping.
 * - /readyz: NGINX serves the config rendered from this process's first full sync (readiness.ts).
 *   A last known good config serving while the first sync has not succeeded is healthy, not
 *   ready: phase `serving-last-known-good`, or `serving-last-known-good-aws-unreachable` once a
 *   sync attempt failed (`lastSyncError` holds its code). While a permanent AWS problem fails
 *   every sync (no credentials, cluster not found, access denied), 503 also carries its `reason`,
 *   `code` and a `hint` of what to check: such a daemon never becomes ready, and says why.
 * A permanent AWS problem leaves /healthz at 200 (named in its details): a restart cannot fix a
 * task role or a cluster name, and the daemon may be serving its last known good config meanwhile;
 * /readyz, `ecs_ingress_aws_permanent_error` and the EcsIngressAwsPermanentError alert report it.
 */
import { readFile } from 'node:fs/promises';
import type { NginxRunner } from '@ecs-ingress/nginx-runner';
import type { AwsProblem } from '@ecs-ingress/sources';
import { type ClusterState, deriveUpstreams, stateToJSON } from '@ecs-ingress/store';
import type { PushedEndpoints } from '../dynamic/dynamic-applier.js';
import type { ProbeResult, StatusProvider } from '../http/server.js';

/** Start-up progress, filled in by the daemon as it goes. */
export interface DaemonProgress {
  phase:
    | 'starting'
    | 'waiting-for-first-sync'
    | 'resolving-bundle'
    | 'starting-nginx'
    /** NGINX serves the last known good config; the first full sync has not succeeded yet. */
    | 'serving-last-known-good'
    /** The first full sync is in the store; NGINX does not serve its render yet. */
    | 'applying-first-sync'
    | 'running'
    | 'stopping';
  firstSyncAt?: number;
  /** The error code of the last full sync when it failed; cleared by a successful one. */
  lastSyncError?: string | undefined;
  configAppliedAt?: number;
  runner?: NginxRunner;
  queueUrl?: () => string | undefined;
  sourceMode?: () => string;
  bundleId?: string;
  /** The permanent AWS problem failing every sync since the last success (@ecs-ingress/sources aws/permanent-errors.ts). */
  awsProblem?: () => AwsProblem | undefined;
  /** Dynamic mode, once NGINX runs: the endpoint sets it confirmed holding. */
  pushedEndpoints?: () => readonly PushedEndpoints[] | undefined;
}

export interface DaemonStatusOptions {
  readonly progress: DaemonProgress;
  readonly state: () => ClusterState;
  /** Cluster filter for the derivation shown in /debug/state. */
  readonly cluster: string;
  readonly upstreamsFile: string;
  /**
   * Dynamic mode: the rendered files to show besides `upstreamsFile` (the stream upstreams). Set
   * means dynamic mode: the http file names no server, so /debug/upstreams adds the pushed sets.
   */
  readonly dynamicFiles?: readonly string[];
}

export function daemonStatus(o: DaemonStatusOptions): StatusProvider {
  const p = o.progress;
  return {
    healthz(): ProbeResult {
      const nginx = p.runner?.state ?? 'not-started';
      const ok = nginx !== 'crashloop' && nginx !== 'stopped';
      const aws = p.awsProblem?.()?.reason;
      return {
        ok,
        details: {
          phase: shownPhase(p),
          nginx,
          nginxPid: p.runner?.masterPid,
          ...(aws ? { awsProblem: aws } : {}),
        },
      };
    },
    readyz(): ProbeResult {
      const problem = p.awsProblem?.();
      const ok =
        problem === undefined &&
        p.firstSyncAt !== undefined &&
        p.configAppliedAt !== undefined &&
        p.phase === 'running';
      return {
        ok,
        details: {
          phase: shownPhase(p),
          ...(problem ? { reason: problem.reason, code: problem.code, hint: problem.hint } : {}),
          ...(p.lastSyncError === undefined ? {} : { lastSyncError: p.lastSyncError }),
          firstSync: p.firstSyncAt === undefined ? null : new Date(p.firstSyncAt).toISOString(),
          configApplied: p.configAppliedAt === undefined ? null : new Date(p.configAppliedAt).toISOString(),
        },
      };
    },
    debugState() {
      const state = o.state();
      const derivation = deriveUpstreams(state, { clusterArn: o.cluster });
      return {
        phase: p.phase,
        sourceMode: p.sourceMode?.(),
        queueUrl: p.queueUrl?.(),
        bundleId: p.bundleId,
        admissions: Object.fromEntries(derivation.admissions),
        awaitingHealth: derivation.awaitingHealth,
        unresolved: derivation.unresolved,
        state: stateToJSON(state),
      };
    },
    async debugUpstreams() {
      if (o.dynamicFiles === undefined) return readOrNote(o.upstreamsFile);
      const files = await Promise.all(
        [o.upstreamsFile, ...o.dynamicFiles].map(
          async (file) => `# ==> ${file} <==\n${await readOrNote(file)}`,
        ),
      );
      return [...files, formatPushedEndpoints(p.pushedEndpoints?.())].join('\n');
    },
  };
}

/** The phase as the probes show it: serving last known good says whether AWS answers. */
function shownPhase(p: Readonly<DaemonProgress>): string {
  return p.phase === 'serving-last-known-good' && p.lastSyncError !== undefined
    ? 'serving-last-known-good-aws-unreachable'
    : p.phase;
}

async function readOrNote(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch {
    return `# ${file} is not written yet\n`;
  }
}

/**
 * Dynamic mode's http `upstream` blocks balance in Lua over endpoint sets held in NGINX's shared
 * memory; this is what was last pushed there (and confirmed), one section per service.
 */
export function formatPushedEndpoints(pushed: readonly PushedEndpoints[] | undefined): string {
  const head = '# ==> endpoints pushed to NGINX (dynamic mode) <==\n';
  if (pushed === undefined) return `${head}# none yet: NGINX is not running\n`;
  if (pushed.length === 0) return `${head}# none yet\n`;
  const sections = pushed.map(
    (s) =>
      `# ${s.service}: endpoints pushed (version ${s.version})\n` +
      (s.endpoints.length === 0
        ? '# (no endpoint: requests to it fail)\n'
        : s.endpoints.map((e) => `${e}\n`).join('')),
  );
  return `${head}${sections.join('\n')}`;
}

/** `lastSyncError` of a failed full sync: the error's code, else a generic one. */
export function syncErrorCode(err: unknown): string {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : 'ECS_INGRESS_SYNC_FAILED';
}
