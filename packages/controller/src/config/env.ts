/**
 * The daemon's configuration from environment variables (the list, defaults and meanings are in
 * ./variables.ts). Everything is validated at start-up and every problem is reported at once, each
 * naming its variable, so an operator fixes a task definition in one round instead of one per
 * restart.
 */

import { hostname } from 'node:os';
import { isAbsolute, normalize, resolve } from 'node:path';
import {
  DEFAULT_PREFIX,
  MIN_RENEWALS_PER_LEASE,
  parseSharedS3Uri,
  planInstanceId,
  type SharedS3Location,
} from '@ecs-ingress/sources';
import { type ConfigError, EcsIngressError } from '@ecs-ingress/types';
import { isLogLevel, type LogLevel } from '../log/logger.js';
import { formatDurationMs } from './duration.js';
import { type DynamicModeConfig, readDynamicConfig } from './dynamic-env.js';
import { EnvReader } from './env-reader.js';
import { type RoutesConfig, readRoutesConfig } from './routes-env.js';

export type QueueMode = 'per-instance' | 'shared' | 'none';
export type UpstreamMode = 'reload' | 'dynamic';
export type MalformedMessages = 'delete' | 'leave';

/** Endpoint overrides, read the way the SDK documents them (AWS_ENDPOINT_URL_<SERVICE ID>, then AWS_ENDPOINT_URL). */
export interface AwsEndpoints {
  readonly ecs?: string;
  readonly ec2?: string;
  readonly sqs?: string;
  readonly eventbridge?: string;
  readonly s3?: string;
}

export interface DaemonConfig {
  readonly clusterName: string;
  /**
   * AWS_REGION, else AWS_DEFAULT_REGION; undefined: the SDK's own resolution (the profile's
   * region), which `resolveAwsRegion` (@ecs-ingress/sources) checks before any client is built.
   */
  readonly region: string | undefined;
  readonly endpoints: AwsEndpoints;
  readonly bundle: {
    readonly s3?: { readonly bucket: string; readonly key: string };
    readonly dir?: string;
    readonly mainFileName: string;
    readonly checkIntervalMs: number;
  };
  /** Absolute. */
  readonly upstreamsFile: string;
  /** Absolute: NGINX's prefix and the bundle manager's work directory. */
  readonly workDir: string;
  readonly nginxBinary: string;
  readonly upstreamMode: UpstreamMode;
  /**
   * Dynamic upstream mode's files and control server (read in both modes, used in `dynamic` only).
   * The files default to the directory of `upstreamsFile`; all paths are absolute (dynamic-env.ts).
   */
  readonly dynamic: DynamicModeConfig;
  /** Routes from labels (issue 16): files, operator policy, listen addresses (routes-env.ts). */
  readonly routes: RoutesConfig;
  readonly queue: {
    readonly mode: QueueMode;
    /** Set in `shared` mode. */
    readonly url?: string;
    /**
     * ECS_INGRESS_INSTANCE_ID, else the host name. On ECS the daemon asks the agent at start for the
     * container instance ARN instead (@ecs-ingress/sources aws/instance-identity.ts) and uses this only when that fails.
     */
    readonly instanceId: string;
    /** The ECS agent to ask for the container instance; set only when ECS_INGRESS_INSTANCE_ID is unset. */
    readonly agentUrl?: string;
    readonly prefix: string;
    readonly malformed: MalformedMessages;
    readonly graceMs: number;
    readonly heartbeatIntervalMs: number;
    readonly reapAfterMs: number;
  };
  readonly resyncIntervalMs: number;
  readonly pollIntervalMs: number;
  readonly healthCheckIntervalMs: number;
  readonly debounce: { readonly minMs: number; readonly maxMs: number };
  readonly minReloadIntervalMs: number;
  readonly tombstoneTtlMs: number;
  readonly http: {
    readonly host: string;
    readonly port: number;
    /** ECS_INGRESS_DEBUG_LISTEN: where /debug/state and /debug/upstreams listen; undefined: `off`. */
    readonly debug?: { readonly host: string; readonly port: number };
  };
  readonly logLevel: LogLevel;
  /** ECS_INGRESS_SHARED_S3_URI: the fleet's shared task definitions, lease and listing (docs/fleet.md). */
  readonly sharedS3?: SharedS3Location;
  /** ECS_INGRESS_SHARED_LEASE_TIME / _RENEW_INTERVAL: the lister lease (used with `sharedS3`). */
  readonly sharedLease: { readonly leaseMs: number; readonly renewIntervalMs: number };
}

/** Every invalid variable at once; `errors` name one variable each. */
export class ConfigErrors extends EcsIngressError {
  constructor(readonly errors: readonly ConfigError[]) {
    super(
      'ECS_INGRESS_CONFIG_INVALID',
      `invalid configuration:\n${errors.map((e) => `  - ${e.message}`).join('\n')}`,
    );
  }
}

/** Default of ECS_INGRESS_DEBUG_LISTEN: loopback only, the port after the dynamic control one. */
const DEFAULT_DEBUG_LISTEN = '127.0.0.1:10256';

/**
 * ECS_INGRESS_DEBUG_LISTEN: `<host>:<port>` (`[<ipv6>]:<port>`) or `off`. The debug endpoints list
 * every task ARN and IP: loopback unless the operator names another address.
 */
function debugListen(r: EnvReader): { debug?: { host: string; port: number } } {
  const value = r.string('ECS_INGRESS_DEBUG_LISTEN', DEFAULT_DEBUG_LISTEN);
  if (value === 'off') return {};
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(value);
  const port = Number(match?.[3]);
  if (match === null || port > 65_535) {
    r.fail(
      'ECS_INGRESS_DEBUG_LISTEN',
      `must be <host>:<port> (e.g. 127.0.0.1:10256, [::1]:10256, 0.0.0.0:10256) or off, got ${JSON.stringify(value)}`,
    );
    return { debug: { host: '127.0.0.1', port: 10_256 } };
  }
  return { debug: { host: match[1] ?? match[2] ?? '127.0.0.1', port } };
}

/** The endpoint variable names, per client, as the SDK's service ids spell them. */
const ENDPOINT_VARIABLES: Readonly<Record<keyof AwsEndpoints, string>> = {
  ecs: 'AWS_ENDPOINT_URL_ECS',
  ec2: 'AWS_ENDPOINT_URL_EC2',
  sqs: 'AWS_ENDPOINT_URL_SQS',
  eventbridge: 'AWS_ENDPOINT_URL_EVENTBRIDGE',
  s3: 'AWS_ENDPOINT_URL_S3',
};

/**
 * Reads and validates the configuration.
 * @throws ConfigErrors listing every invalid variable (each a `ConfigError` naming it)
 */
export function loadConfig(env: Readonly<Record<string, string | undefined>> = process.env): DaemonConfig {
  const r = new EnvReader(env);

  const endpoints: { -readonly [K in keyof AwsEndpoints]: string } = {};
  const general = r.url('AWS_ENDPOINT_URL');
  for (const [client, variable] of Object.entries(ENDPOINT_VARIABLES) as [keyof AwsEndpoints, string][]) {
    const endpoint = r.url(variable) ?? general;
    if (endpoint !== undefined) endpoints[client] = endpoint;
  }

  // Like the AWS CLI: AWS_REGION, then AWS_DEFAULT_REGION; unset, the SDK reads the profile's
  // region (resolveAwsRegion). No default, with or without an endpoint override.
  const region = r.raw('AWS_REGION') ?? r.raw('AWS_DEFAULT_REGION');
  if (
    region !== undefined &&
    Object.keys(endpoints).length === 0 &&
    !/^[a-z]{2}(-[a-z0-9]+)+-\d+$/.test(region)
  ) {
    // Checked against real AWS only: emulators accept any region name.
    r.fail('AWS_REGION', `does not look like an AWS region (e.g. eu-west-1), got ${JSON.stringify(region)}`);
  }

  const clusterName = r.string('AWS_CLUSTER_NAME', 'default');

  const bucket = r.raw('NGINX_CONFIG_BUNDLE_S3_BUCKET');
  const key = r.raw('NGINX_CONFIG_BUNDLE_S3_KEY');
  if ((bucket === undefined) !== (key === undefined)) {
    const missing = bucket === undefined ? 'NGINX_CONFIG_BUNDLE_S3_BUCKET' : 'NGINX_CONFIG_BUNDLE_S3_KEY';
    const other = bucket === undefined ? 'NGINX_CONFIG_BUNDLE_S3_KEY' : 'NGINX_CONFIG_BUNDLE_S3_BUCKET';
    r.fail(missing, `must be set together with ${other}`);
  }
  const configDir = r.raw('NGINX_CONFIG_DIR');
  if (configDir !== undefined && bucket !== undefined) {
    r.fail(
      'NGINX_CONFIG_DIR',
      'cannot be combined with NGINX_CONFIG_BUNDLE_S3_BUCKET: choose one bundle source',
    );
  }
  const mainFileName = r.string('NGINX_CONFIG_FILE_NAME', 'nginx.conf');
  if (isAbsolute(mainFileName) || normalize(mainFileName).startsWith('..')) {
    r.fail('NGINX_CONFIG_FILE_NAME', `must be a path inside the bundle, got ${JSON.stringify(mainFileName)}`);
  }

  const queueUrl = r.url('ECS_INGRESS_QUEUE_URL');
  const onEcs = r.raw('ECS_CONTAINER_METADATA_URI_V4') !== undefined;
  const defaultMode: QueueMode = queueUrl !== undefined ? 'shared' : onEcs ? 'per-instance' : 'none';
  const queueMode = r.oneOf<QueueMode>(
    'ECS_INGRESS_QUEUE_MODE',
    ['per-instance', 'shared', 'none'],
    defaultMode,
  );
  if (queueMode === 'shared' && queueUrl === undefined && r.raw('ECS_INGRESS_QUEUE_URL') === undefined) {
    r.fail('ECS_INGRESS_QUEUE_URL', 'is required when ECS_INGRESS_QUEUE_MODE is shared');
  }
  if (queueMode !== 'shared' && queueUrl !== undefined) {
    r.fail(
      'ECS_INGRESS_QUEUE_URL',
      `is only used in shared mode, but ECS_INGRESS_QUEUE_MODE is ${queueMode}`,
    );
  }
  // Validated here; an invalid URL is reported and the agent is then not asked.
  const agentUrl = r.url('ECS_INGRESS_AGENT_URL');
  const instancePlan = planInstanceId(
    {
      ECS_INGRESS_INSTANCE_ID: r.raw('ECS_INGRESS_INSTANCE_ID'),
      ECS_INGRESS_AGENT_URL: agentUrl,
      ECS_CONTAINER_METADATA_URI_V4: r.raw('ECS_CONTAINER_METADATA_URI_V4'),
    },
    hostname(),
  );
  const prefix = r.string('ECS_INGRESS_QUEUE_PREFIX', DEFAULT_PREFIX);
  if (!/^[A-Za-z0-9_-]{1,32}$/.test(prefix)) {
    // The stricter of the SQS queue name and EventBridge rule name alphabets, with room for the rest.
    r.fail(
      'ECS_INGRESS_QUEUE_PREFIX',
      `must be 1..32 characters of A-Z a-z 0-9 _ -, got ${JSON.stringify(prefix)}`,
    );
  }
  const heartbeatIntervalMs = r.duration('ECS_INGRESS_HEARTBEAT_INTERVAL', 5 * 60_000);
  const reapAfterMs = r.duration('ECS_INGRESS_REAP_AFTER', 60 * 60_000);
  if (reapAfterMs < 3 * heartbeatIntervalMs) {
    // A live daemon that misses one or two heartbeats (an AWS hiccup) must not be reaped by a peer.
    r.fail(
      'ECS_INGRESS_REAP_AFTER',
      `must be at least 3 × ECS_INGRESS_HEARTBEAT_INTERVAL (${formatDurationMs(3 * heartbeatIntervalMs)}), got ${formatDurationMs(reapAfterMs)}`,
    );
  }

  const debounceMin = r.duration('ECS_INGRESS_DEBOUNCE_MIN', 200, { allowZero: true });
  const debounceMax = r.duration('ECS_INGRESS_DEBOUNCE_MAX', 2000, { allowZero: true });
  if (debounceMax < debounceMin) {
    r.fail(
      'ECS_INGRESS_DEBOUNCE_MAX',
      `must be ≥ ECS_INGRESS_DEBOUNCE_MIN (${formatDurationMs(debounceMin)}), got ${formatDurationMs(debounceMax)}`,
    );
  }

  const logLevelRaw = r.raw('ECS_INGRESS_LOG_LEVEL')?.toLowerCase();
  let logLevel: LogLevel = 'info';
  if (logLevelRaw !== undefined) {
    if (isLogLevel(logLevelRaw)) logLevel = logLevelRaw;
    else
      r.fail(
        'ECS_INGRESS_LOG_LEVEL',
        `must be one of trace, debug, info, warn, error, fatal, silent, got ${JSON.stringify(logLevelRaw)}`,
      );
  }

  const sharedS3Raw = r.raw('ECS_INGRESS_SHARED_S3_URI');
  const sharedS3 = sharedS3Raw === undefined ? undefined : parseSharedS3Uri(sharedS3Raw);
  if (sharedS3 !== undefined && 'error' in sharedS3) r.fail('ECS_INGRESS_SHARED_S3_URI', sharedS3.error);
  const sharedLease = {
    leaseMs: r.duration('ECS_INGRESS_SHARED_LEASE_TIME', 60_000),
    renewIntervalMs: r.duration('ECS_INGRESS_SHARED_RENEW_INTERVAL', 10_000),
  };
  if (sharedLease.leaseMs < MIN_RENEWALS_PER_LEASE * sharedLease.renewIntervalMs) {
    // The lease's stale threshold (lease − 3 renewals) must stay ≥ 2 renewals, or a live lister
    // could be judged dead between two of its renewals (sources: fleet/fleet-sync.ts).
    r.fail(
      'ECS_INGRESS_SHARED_LEASE_TIME',
      `must be at least ${MIN_RENEWALS_PER_LEASE} × ECS_INGRESS_SHARED_RENEW_INTERVAL (${formatDurationMs(MIN_RENEWALS_PER_LEASE * sharedLease.renewIntervalMs)}), got ${formatDurationMs(sharedLease.leaseMs)}`,
    );
  }

  const upstreamsFile = r.path('ECS_INGRESS_UPSTREAMS_FILE', '/app/nginx/upstreams.conf');
  const config: DaemonConfig = {
    clusterName,
    region,
    endpoints,
    bundle: {
      ...(bucket !== undefined && key !== undefined ? { s3: { bucket, key } } : {}),
      ...(configDir !== undefined ? { dir: resolve(configDir) } : {}),
      mainFileName,
      checkIntervalMs: r.duration('ECS_INGRESS_BUNDLE_CHECK_INTERVAL', 30_000),
    },
    upstreamsFile,
    workDir: r.path('ECS_INGRESS_WORK_DIR', '/app/nginx'),
    nginxBinary: r.string('ECS_INGRESS_NGINX_BINARY', '/usr/sbin/nginx'),
    upstreamMode: r.oneOf<UpstreamMode>('ECS_INGRESS_UPSTREAM_MODE', ['reload', 'dynamic'], 'reload'),
    dynamic: readDynamicConfig(r, upstreamsFile),
    routes: readRoutesConfig(r, upstreamsFile),
    queue: {
      mode: queueMode,
      ...(queueMode === 'shared' && queueUrl !== undefined ? { url: queueUrl } : {}),
      instanceId: instancePlan.fallback,
      ...(instancePlan.agentUrl === undefined ? {} : { agentUrl: instancePlan.agentUrl }),
      prefix,
      malformed: r.oneOf<MalformedMessages>('ECS_INGRESS_MALFORMED_MESSAGES', ['delete', 'leave'], 'delete'),
      graceMs: r.duration('ECS_INGRESS_QUEUE_GRACE_PERIOD', 60_000),
      heartbeatIntervalMs,
      reapAfterMs,
    },
    resyncIntervalMs: r.duration('ECS_INGRESS_RESYNC_INTERVAL', 5 * 60_000),
    pollIntervalMs: r.duration('ECS_INGRESS_POLL_INTERVAL', 10_000),
    healthCheckIntervalMs: r.duration('ECS_INGRESS_HEALTH_CHECK_INTERVAL', 2000),
    debounce: { minMs: debounceMin, maxMs: debounceMax },
    minReloadIntervalMs: r.duration('ECS_INGRESS_MIN_RELOAD_INTERVAL', 1000, { allowZero: true }),
    tombstoneTtlMs: r.duration('ECS_INGRESS_TOMBSTONE_TTL', 15 * 60_000),
    http: {
      host: r.string('ECS_INGRESS_HTTP_HOST', '0.0.0.0'),
      port: r.port('ECS_INGRESS_HTTP_PORT', 10_254),
      ...debugListen(r),
    },
    logLevel,
    ...(sharedS3 !== undefined && !('error' in sharedS3) ? { sharedS3 } : {}),
    sharedLease,
  };
  if (r.errors.length > 0) throw new ConfigErrors(r.errors);
  return config;
}
