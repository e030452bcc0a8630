/**
 * Routes from labels in the running controller (issue 16): the derivation's route sources →
 * `createRouteResolver` → `renderHttpRoutes` / `renderStreamRoutes` → two managed files. Pure apart from
 * its memory, which holds:
 *
 * - the last inputs and result: an unchanged route table (same services, same labels objects, same
 *   shadowed hosts) is neither resolved nor rendered again — the task definitions' labels objects
 *   keep their identity, so the check is O(services) with no parsing;
 * - the hosts NGINX reported as "conflicting server name" (`observeTestOutput`): a bundle server
 *   wins over a label, and the route is reported `shadowed` (resolution leaves that host out);
 * - route outputs that failed `nginx -t` (`refuse`): while the routes render to a refused output,
 *   the files last applied are rendered instead, so one bad route set cannot hold back upstream
 *   changes; the routes are tried again when their inputs change.
 */
import { createHash } from 'node:crypto';
import { type RouteRenderOptions, renderHttpRoutes, renderStreamRoutes } from '@ecs-ingress/renderer';
import type { ServiceRouteSource } from '@ecs-ingress/store';
import type { Logger, RouteReport, RouteState, RouteTable } from '@ecs-ingress/types';
import { silentLogger } from '@ecs-ingress/types';
import type { RenderedFile } from '../reconciler/types.js';
import type { ServiceRoutesInput } from './resolve-routes.js';
import { createRouteResolver } from './route-resolver.js';
import type { RouteSettings } from './route-settings.js';

/** Narrow metric hooks (http/route-metrics.ts adapts them to Prometheus). */
export interface RoutesHooks {
  /** Every new route table: the number of routes per state. */
  onTable(counts: Readonly<Record<RouteState, number>>): void;
  /** An invalid route that was not invalid (with this code) in the previous table. */
  onInvalid(code: string): void;
}

export interface RoutesOptions {
  /** Absolute paths of the two managed files (the bundle includes them in `http` / `stream`). */
  readonly httpFile: string;
  readonly streamFile: string;
  /** Host policy, default domain, tcp ports (route-settings.ts); `bundleServerNames` is ours. */
  readonly settings: Omit<RouteSettings, 'bundleServerNames'>;
  readonly render: RouteRenderOptions;
  /**
   * ECS `createdAt` of a service (seniority). Default: the source's own `createdAt` (from
   * DescribeServices through the store); `undefined` counts as the youngest (resolve-routes.ts).
   */
  readonly createdAt?: (source: ServiceRouteSource) => number | undefined;
  readonly hooks?: RoutesHooks;
  readonly logger?: Logger;
}

/** The routes part of one render. */
export interface RoutesRender {
  readonly table: RouteTable;
  readonly files: readonly RenderedFile[];
  /** Of both files' bodies. */
  readonly hash: string;
  /** The upstreams the stream file's tcp routes proxy to (dynamic mode puts them in its stream file). */
  readonly tcpUpstreams: readonly string[];
  /** Set when the table's own output failed `nginx -t` and the last applied files stand in. */
  readonly held?: { readonly refusedHash: string; readonly reason: string };
}

export interface RoutesRenderer {
  render(sources: readonly ServiceRouteSource[]): RoutesRender;
  /** The routes of a config that went live. */
  applied(routes: RoutesRender): void;
  /** A config with these routes failed `nginx -t`; true when they are now held back (re-render). */
  refuse(routes: RoutesRender, reason: string): boolean;
  /** Reads `nginx -t` output; true when a rendered host became shadowed (re-render). */
  observeTestOutput(output: string): boolean;
  /** The bundle changed: forget what its servers shadowed (found again by the next test). */
  resetShadows(): void;
  /** The latest render (for /debug/routes). */
  latest(): RoutesRender | undefined;
  /** The http and stream route files (absolute). */
  filePaths(): readonly [string, string];
}

const STATES: readonly RouteState[] = ['active', 'shadowed', 'conflict', 'invalid'];
/** NGINX: `conflicting server name "shop.example.com" on 127.0.0.1:80, ignored`. */
const CONFLICTING = /conflicting server name "([^"]*)" on /g;

function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** The hash NGINX-side files carry on their first line (`# ecs-ingress routes-<kind> sha256:<hex>`). */
export function readRoutesHash(text: string, kind: 'http' | 'stream'): string | undefined {
  const match = new RegExp(`^# ecs-ingress routes-${kind} sha256:([0-9a-f]{64})\\n`).exec(text);
  return match?.[1];
}

/** The hash of a routes render from its two file hashes. */
export function combineRoutesHash(httpHash: string, streamHash: string): string {
  return sha256(`${httpHash}.${streamHash}`);
}

export function createRoutesRenderer(options: RoutesOptions): RoutesRenderer {
  const logger = (options.logger ?? silentLogger).child({ component: 'routes' });
  const createdAt = options.createdAt ?? ((source: ServiceRouteSource) => source.createdAt);
  const shadowed = new Set<string>();
  let shadowVersion = 0;
  // The resolver keeps its memory while it is given the same settings object.
  const resolve = createRouteResolver();
  let settings: { version: number; value: RouteSettings } | undefined;
  const refused = new Map<string, string>();
  let last:
    | { sources: readonly ServiceRouteSource[]; shadowVersion: number; result: RoutesRender }
    | undefined;
  let appliedRoutes: RoutesRender | undefined;
  /** What `render` last returned (held or not), for /debug/routes. */
  let returned: RoutesRender | undefined;
  let invalidBefore = new Set<string>();

  function sameSources(a: readonly ServiceRouteSource[], b: readonly ServiceRouteSource[]): boolean {
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) {
      const x = a[i] as ServiceRouteSource;
      const y = b[i] as ServiceRouteSource;
      if (
        x !== y &&
        (x.service !== y.service ||
          x.labels !== y.labels ||
          x.clusterArn !== y.clusterArn ||
          x.createdAt !== y.createdAt)
      )
        return false;
    }
    return true;
  }

  function report(table: RouteTable): void {
    const counts: Record<RouteState, number> = { active: 0, shadowed: 0, conflict: 0, invalid: 0 };
    const invalidNow = new Set<string>();
    for (const r of table.reports) {
      counts[r.state] += 1;
      if (r.state !== 'invalid') continue;
      const key = `${r.service}\n${r.kind}\n${r.route}\n${r.code ?? ''}`;
      invalidNow.add(key);
      if (!invalidBefore.has(key)) {
        logger.warn(
          { code: r.code, service: r.service, route: `${r.kind}.${r.route}`, reason: r.reason },
          'route rejected',
        );
        options.hooks?.onInvalid(r.code ?? 'unknown');
      }
    }
    invalidBefore = invalidNow;
    try {
      options.hooks?.onTable(counts);
    } catch (err) {
      logger.warn({ err }, 'routes metrics hook threw');
    }
  }

  /** The last sources and the resolver inputs made of them, place by place. */
  let lastInputs: { sources: readonly ServiceRouteSource[]; inputs: ServiceRoutesInput[] } | undefined;

  /** The resolver's inputs; a source at the same place as last time keeps its input object. */
  function inputsOf(sources: readonly ServiceRouteSource[]): ServiceRoutesInput[] {
    const last = lastInputs?.sources.length === sources.length ? lastInputs : undefined;
    const inputs: ServiceRoutesInput[] = new Array(sources.length);
    for (let i = 0; i < sources.length; i++) {
      const source = sources[i] as ServiceRouteSource;
      const at = createdAt(source);
      const before = last?.sources[i] === source ? last.inputs[i] : undefined;
      inputs[i] =
        before !== undefined && before.createdAt === at
          ? before
          : { name: source.service, createdAt: at, labels: source.labels };
    }
    lastInputs = { sources, inputs };
    return inputs;
  }

  function resolveAndRender(sources: readonly ServiceRouteSource[]): RoutesRender {
    const inputs = inputsOf(sources);
    if (settings?.version !== shadowVersion) {
      settings = {
        version: shadowVersion,
        value: { ...options.settings, bundleServerNames: new Set(shadowed) },
      };
    }
    const table = resolve(inputs, settings.value);
    const http = renderHttpRoutes(table, options.render);
    const stream = renderStreamRoutes(table);
    report(table);
    return {
      table,
      files: [
        { path: options.httpFile, content: http.text },
        { path: options.streamFile, content: stream.text },
      ],
      hash: combineRoutesHash(http.hash, stream.hash),
      tcpUpstreams: table.tcp.map((route) => route.upstream),
    };
  }

  function heldBack(result: RoutesRender, reason: string): RoutesRender {
    const stand = appliedRoutes;
    if (stand === undefined) return result;
    return {
      ...result,
      files: stand.files,
      hash: stand.hash,
      tcpUpstreams: stand.tcpUpstreams,
      held: { refusedHash: result.hash, reason },
    };
  }

  return {
    render(sources) {
      let result: RoutesRender;
      if (last !== undefined && last.shadowVersion === shadowVersion && sameSources(last.sources, sources)) {
        result = last.result;
      } else {
        try {
          result = resolveAndRender(sources);
        } catch (err) {
          // The audit refused a value (a bug in a grammar, never a user's text): keep what serves.
          logger.error({ code: (err as { code?: unknown }).code, err }, 'routes could not be rendered');
          const stand = appliedRoutes ?? last?.result;
          if (stand === undefined) throw err;
          result = { ...stand, held: { refusedHash: 'unrendered', reason: String(err) } };
        }
        last = { sources, shadowVersion, result };
      }
      const reason = refused.get(result.hash);
      returned = reason === undefined ? result : heldBack(result, reason);
      return returned;
    },
    applied(routes) {
      appliedRoutes = routes;
    },
    refuse(routes, reason) {
      if (routes.held !== undefined || routes.hash === appliedRoutes?.hash) return false;
      if (refused.size > 64) refused.clear();
      refused.set(routes.hash, reason);
      logger.error(
        { code: 'ECS_INGRESS_ROUTES_REFUSED', hash: routes.hash },
        'nginx -t refused the routes; the routes last applied stay until the labels change',
      );
      return appliedRoutes !== undefined;
    },
    observeTestOutput(output) {
      const rendered = new Set<string>();
      for (const host of last?.result.table.hosts ?? []) rendered.add(host.host);
      let changed = false;
      for (const match of output.matchAll(CONFLICTING)) {
        const name = (match[1] ?? '').toLowerCase();
        if (!rendered.has(name) || shadowed.has(name)) continue;
        shadowed.add(name);
        changed = true;
        logger.warn({ host: name }, 'a server of the bundle has this host: the label route is shadowed');
      }
      if (changed) shadowVersion += 1;
      return changed;
    },
    resetShadows() {
      if (shadowed.size === 0) return;
      shadowed.clear();
      shadowVersion += 1;
    },
    latest: () => returned,
    filePaths: () => [options.httpFile, options.streamFile],
  };
}

/** The JSON of /debug/routes. */
export function routesDebugView(
  live: RoutesRender | undefined,
  latest: RoutesRender | undefined,
): {
  readonly routes: readonly RouteReport[];
  readonly counts: Readonly<Record<RouteState, number>>;
  readonly liveHash?: string;
  readonly held?: RoutesRender['held'];
} {
  const table = latest?.table ?? live?.table;
  const counts = Object.fromEntries(STATES.map((s) => [s, 0])) as Record<RouteState, number>;
  for (const r of table?.reports ?? []) counts[r.state] += 1;
  return {
    routes: table?.reports ?? [],
    counts,
    ...(live === undefined ? {} : { liveHash: live.hash }),
    ...(latest?.held === undefined ? {} : { held: latest.held }),
  };
}
