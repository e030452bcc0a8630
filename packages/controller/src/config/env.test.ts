import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { ConfigError } from '@ecs-ingress/types';
import { describe, expect, it } from 'vitest';
import { formatDurationMs, parseDurationMs } from './duration.js';
import { ConfigErrors, loadConfig } from './env.js';
import { CONFIG_VARIABLES, formatConfigHelp, formatConfigTable } from './variables.js';

const BASE = { AWS_REGION: 'eu-west-1' };

function errorsOf(env: Record<string, string>): ConfigError[] {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigErrors);
    return [...(err as ConfigErrors).errors];
  }
  throw new Error('loadConfig did not throw');
}

describe('parseDurationMs', () => {
  it.each([
    ['250ms', 250],
    ['10s', 10_000],
    ['5m', 300_000],
    ['1h', 3_600_000],
    ['1500', 1500],
    ['1.5s', 1500],
    [' 2s ', 2000],
    ['0', 0],
  ])('%j → %d', (text, ms) => {
    expect(parseDurationMs(text)).toBe(ms);
  });

  it.each(['', 'abc', '-1s', '10 minutes', '1d', '1.5', 's'])('%j is not a duration', (text) => {
    expect(parseDurationMs(text)).toBeUndefined();
  });

  it.each([
    [300_000, '5m'],
    [1500, '1500ms'],
    [2000, '2s'],
    [3_600_000, '1h'],
  ])('formats %d as %s', (ms, text) => {
    expect(formatDurationMs(ms)).toBe(text);
  });
});

describe('loadConfig', () => {
  it('has a default for every variable but the region', () => {
    const config = loadConfig(BASE);
    expect(config).toMatchObject({
      clusterName: 'default',
      region: 'eu-west-1',
      endpoints: {},
      bundle: { mainFileName: 'nginx.conf', checkIntervalMs: 30_000 },
      upstreamsFile: '/app/nginx/upstreams.conf',
      workDir: '/app/nginx',
      nginxBinary: '/usr/sbin/nginx',
      upstreamMode: 'reload',
      dynamic: {
        preambleFile: '/app/nginx/ecs-ingress-dynamic.conf',
        httpUpstreamsFile: '/app/nginx/upstreams.http.conf',
        streamUpstreamsFile: '/app/nginx/upstreams.stream.conf',
        controlListen: '127.0.0.1:10255',
        streamServices: 'none',
        endpointDebounce: { minMs: 0, maxMs: 100 },
      },
      queue: {
        mode: 'none',
        instanceId: hostname(),
        prefix: 'ecs-ingress-',
        malformed: 'delete',
        graceMs: 60_000,
        heartbeatIntervalMs: 300_000,
        reapAfterMs: 3_600_000,
      },
      resyncIntervalMs: 300_000,
      pollIntervalMs: 10_000,
      healthCheckIntervalMs: 2000,
      debounce: { minMs: 200, maxMs: 2000 },
      minReloadIntervalMs: 1000,
      tombstoneTtlMs: 900_000,
      // The debug endpoints (every task ARN and IP) on loopback unless configured.
      http: { host: '0.0.0.0', port: 10_254, debug: { host: '127.0.0.1', port: 10_256 } },
      logLevel: 'info',
    });
    expect(config.bundle.s3).toBeUndefined();
    expect(config.bundle.dir).toBeUndefined();
    expect(config.queue.url).toBeUndefined();
  });

  it('reads every variable', () => {
    const config = loadConfig({
      AWS_REGION: 'us-east-2',
      AWS_CLUSTER_NAME: 'prod',
      NGINX_CONFIG_BUNDLE_S3_BUCKET: 'b',
      NGINX_CONFIG_BUNDLE_S3_KEY: 'k/bundle.zip',
      NGINX_CONFIG_FILE_NAME: 'conf/main.conf',
      ECS_INGRESS_UPSTREAMS_FILE: '/etc/x/up.conf',
      ECS_INGRESS_WORK_DIR: '/var/lib/ei',
      ECS_INGRESS_NGINX_BINARY: '/opt/nginx',
      ECS_INGRESS_UPSTREAM_MODE: 'dynamic',
      ECS_INGRESS_DYNAMIC_PREAMBLE_FILE: '/etc/x/pre.conf',
      ECS_INGRESS_DYNAMIC_UPSTREAMS_FILE: '/etc/x/http.conf',
      ECS_INGRESS_STREAM_UPSTREAMS_FILE: '/etc/x/stream.conf',
      ECS_INGRESS_STREAM_SERVICES: 'tcp-echo, redis,tcp-echo',
      ECS_INGRESS_DYNAMIC_CONTROL_LISTEN: 'unix:/run/ecs-ingress/control.sock',
      ECS_INGRESS_ENDPOINT_DEBOUNCE_MIN: '2ms',
      ECS_INGRESS_ENDPOINT_DEBOUNCE_MAX: '20ms',
      ECS_INGRESS_QUEUE_MODE: 'shared',
      ECS_INGRESS_QUEUE_URL: 'https://sqs.us-east-2.amazonaws.com/1/q',
      ECS_INGRESS_INSTANCE_ID: 'i-1',
      ECS_INGRESS_QUEUE_PREFIX: 'ei_',
      ECS_INGRESS_MALFORMED_MESSAGES: 'leave',
      ECS_INGRESS_HEARTBEAT_INTERVAL: '1m',
      ECS_INGRESS_REAP_AFTER: '3m',
      ECS_INGRESS_RESYNC_INTERVAL: '1m',
      ECS_INGRESS_POLL_INTERVAL: '5s',
      ECS_INGRESS_QUEUE_GRACE_PERIOD: '30s',
      ECS_INGRESS_HEALTH_CHECK_INTERVAL: '500ms',
      ECS_INGRESS_DEBOUNCE_MIN: '0',
      ECS_INGRESS_DEBOUNCE_MAX: '100',
      ECS_INGRESS_MIN_RELOAD_INTERVAL: '0ms',
      ECS_INGRESS_TOMBSTONE_TTL: '1h',
      ECS_INGRESS_BUNDLE_CHECK_INTERVAL: '10s',
      ECS_INGRESS_HTTP_HOST: '127.0.0.1',
      ECS_INGRESS_HTTP_PORT: '0',
      ECS_INGRESS_LOG_LEVEL: 'DEBUG',
    });
    expect(config).toMatchObject({
      clusterName: 'prod',
      region: 'us-east-2',
      bundle: {
        s3: { bucket: 'b', key: 'k/bundle.zip' },
        mainFileName: 'conf/main.conf',
        checkIntervalMs: 10_000,
      },
      upstreamsFile: '/etc/x/up.conf',
      workDir: '/var/lib/ei',
      nginxBinary: '/opt/nginx',
      upstreamMode: 'dynamic',
      dynamic: {
        preambleFile: '/etc/x/pre.conf',
        httpUpstreamsFile: '/etc/x/http.conf',
        streamUpstreamsFile: '/etc/x/stream.conf',
        controlListen: 'unix:/run/ecs-ingress/control.sock',
        streamServices: ['tcp-echo', 'redis'],
        endpointDebounce: { minMs: 2, maxMs: 20 },
      },
      queue: {
        mode: 'shared',
        url: 'https://sqs.us-east-2.amazonaws.com/1/q',
        instanceId: 'i-1',
        prefix: 'ei_',
        malformed: 'leave',
        graceMs: 30_000,
        heartbeatIntervalMs: 60_000,
        reapAfterMs: 180_000,
      },
      resyncIntervalMs: 60_000,
      pollIntervalMs: 5000,
      healthCheckIntervalMs: 500,
      debounce: { minMs: 0, maxMs: 100 },
      minReloadIntervalMs: 0,
      tombstoneTtlMs: 3_600_000,
      http: { host: '127.0.0.1', port: 0 },
      logLevel: 'debug',
    });
  });

  it.each([
    [{}, 'none'],
    [{ ECS_CONTAINER_METADATA_URI_V4: 'http://169.254.170.2/v4/x' }, 'per-instance'],
    [{ ECS_INGRESS_QUEUE_URL: 'http://127.0.0.1:1/q' }, 'shared'],
    [{ ECS_CONTAINER_METADATA_URI_V4: 'http://x', ECS_INGRESS_QUEUE_MODE: 'none' }, 'none'],
  ])('queue mode default for %j is %s', (env, mode) => {
    expect(loadConfig({ ...BASE, ...env }).queue.mode).toBe(mode);
  });

  it.each([
    [{}, undefined, hostname()],
    [{ ECS_CONTAINER_METADATA_URI_V4: 'http://169.254.170.2/v4/x' }, 'http://127.0.0.1:51678', hostname()],
    [{ ECS_INGRESS_AGENT_URL: 'http://127.0.0.1:1' }, 'http://127.0.0.1:1', hostname()],
    [{ ECS_CONTAINER_METADATA_URI_V4: 'http://x', ECS_INGRESS_INSTANCE_ID: 'i-1' }, undefined, 'i-1'],
  ])('instance identity for %j: agent %s, fallback %s', (env, agentUrl, instanceId) => {
    const { queue } = loadConfig({ ...BASE, ...env });
    expect(queue.agentUrl).toBe(agentUrl);
    expect(queue.instanceId).toBe(instanceId);
  });

  it('reads endpoint overrides per service, falling back to AWS_ENDPOINT_URL; no silent region for them', () => {
    const config = loadConfig({
      AWS_ENDPOINT_URL: 'http://127.0.0.1:4566',
      AWS_ENDPOINT_URL_SQS: 'http://127.0.0.1:9324',
    });
    // Left to the SDK's resolution (the profile), like without an override: never us-east-1 by default.
    expect(config.region).toBeUndefined();
    expect(config.endpoints).toEqual({
      ecs: 'http://127.0.0.1:4566',
      ec2: 'http://127.0.0.1:4566',
      sqs: 'http://127.0.0.1:9324',
      eventbridge: 'http://127.0.0.1:4566',
      s3: 'http://127.0.0.1:4566',
    });
  });

  it.each([
    ['s3://fleet-bucket/prod/cluster-a', { bucket: 'fleet-bucket', prefix: 'prod/cluster-a/' }],
    ['s3://fleet-bucket', { bucket: 'fleet-bucket', prefix: '' }],
    ['s3://fleet-bucket/p/', { bucket: 'fleet-bucket', prefix: 'p/' }],
  ])('reads ECS_INGRESS_SHARED_S3_URI %s', (uri, want) => {
    expect(loadConfig({ ...BASE, ECS_INGRESS_SHARED_S3_URI: uri }).sharedS3).toEqual(want);
    expect(loadConfig(BASE).sharedS3).toBeUndefined();
  });

  it.each(['fleet-bucket/prod', 's3://Bad_Bucket/x', 's3://fleet-bucket//x', 'https://fleet-bucket/x'])(
    'refuses ECS_INGRESS_SHARED_S3_URI %s, naming the variable',
    (uri) => {
      expect(() => loadConfig({ ...BASE, ECS_INGRESS_SHARED_S3_URI: uri })).toThrow(
        /ECS_INGRESS_SHARED_S3_URI/,
      );
    },
  );

  it('reads the lister lease timings (defaults 60 s lease, 10 s renewal)', () => {
    expect(loadConfig(BASE).sharedLease).toEqual({ leaseMs: 60_000, renewIntervalMs: 10_000 });
    expect(
      loadConfig({ ...BASE, ECS_INGRESS_SHARED_LEASE_TIME: '2m', ECS_INGRESS_SHARED_RENEW_INTERVAL: '20s' })
        .sharedLease,
    ).toEqual({ leaseMs: 120_000, renewIntervalMs: 20_000 });
  });

  it.each([
    [
      { ECS_INGRESS_SHARED_LEASE_TIME: '30s' },
      /ECS_INGRESS_SHARED_LEASE_TIME: must be at least 5 × ECS_INGRESS_SHARED_RENEW_INTERVAL \(50s\), got 30s/,
    ],
    [
      { ECS_INGRESS_SHARED_RENEW_INTERVAL: '15s' },
      /ECS_INGRESS_SHARED_LEASE_TIME: must be at least 5 × ECS_INGRESS_SHARED_RENEW_INTERVAL \(75s\), got 1m/,
    ],
    [{ ECS_INGRESS_SHARED_RENEW_INTERVAL: 'often' }, /ECS_INGRESS_SHARED_RENEW_INTERVAL/],
    [{ ECS_INGRESS_SHARED_LEASE_TIME: '0' }, /ECS_INGRESS_SHARED_LEASE_TIME/],
  ])('refuses lease timings %j at start-up, naming the variable', (env, message) => {
    expect(() => loadConfig({ ...BASE, ...env })).toThrow(message);
  });

  it('takes AWS_DEFAULT_REGION when AWS_REGION is unset, and leaves the region to the SDK without either', () => {
    expect(loadConfig({ AWS_DEFAULT_REGION: 'ap-south-1' }).region).toBe('ap-south-1');
    expect(loadConfig({ AWS_REGION: 'eu-west-3', AWS_DEFAULT_REGION: 'ap-south-1' }).region).toBe(
      'eu-west-3',
    );
    expect(loadConfig({}).region).toBeUndefined();
  });

  it('treats empty values as unset', () => {
    expect(loadConfig({ ...BASE, AWS_CLUSTER_NAME: '', ECS_INGRESS_HTTP_PORT: ' ' })).toMatchObject({
      clusterName: 'default',
      http: { port: 10_254 },
    });
  });

  it('puts the dynamic-mode files beside ECS_INGRESS_UPSTREAMS_FILE by default', () => {
    expect(loadConfig({ ...BASE, ECS_INGRESS_UPSTREAMS_FILE: '/srv/ngx/up.conf' }).dynamic).toMatchObject({
      preambleFile: '/srv/ngx/ecs-ingress-dynamic.conf',
      httpUpstreamsFile: '/srv/ngx/upstreams.http.conf',
      streamUpstreamsFile: '/srv/ngx/upstreams.stream.conf',
    });
  });

  it.each([
    ['none', 'none'],
    ['all', 'all'],
    ['', 'none'],
    ['web,api', ['web', 'api']],
  ])('ECS_INGRESS_STREAM_SERVICES=%j → %j', (value, expected) => {
    expect(loadConfig({ ...BASE, ECS_INGRESS_STREAM_SERVICES: value }).dynamic.streamServices).toEqual(
      expected,
    );
  });

  it.each(['127.0.0.1:10255', '127.1.2.3:1', '[::1]:8081', 'unix:/tmp/ecs-ingress.sock'])(
    'ECS_INGRESS_DYNAMIC_CONTROL_LISTEN accepts the loopback address %s',
    (value) => {
      expect(loadConfig({ ...BASE, ECS_INGRESS_DYNAMIC_CONTROL_LISTEN: value }).dynamic.controlListen).toBe(
        value,
      );
    },
  );

  it.each([
    ['0.0.0.0:9000', { debug: { host: '0.0.0.0', port: 9000 } }],
    ['[::1]:10256', { debug: { host: '::1', port: 10_256 } }],
    ['localhost:0', { debug: { host: 'localhost', port: 0 } }],
    ['off', {}],
  ])('ECS_INGRESS_DEBUG_LISTEN=%s', (value, expected) => {
    const { http } = loadConfig({ ...BASE, ECS_INGRESS_DEBUG_LISTEN: value });
    expect({ ...http, host: undefined, port: undefined }).toEqual({
      host: undefined,
      port: undefined,
      ...expected,
    });
  });

  it.each(['10256', '127.0.0.1', '127.0.0.1:99999', 'on'])('ECS_INGRESS_DEBUG_LISTEN refuses %s', (value) => {
    const errors = errorsOf({ ...BASE, ECS_INGRESS_DEBUG_LISTEN: value });
    expect(errors.map((e) => e.variable)).toEqual(['ECS_INGRESS_DEBUG_LISTEN']);
    expect(errors[0]?.message).toMatch(/must be <host>:<port>.* or off/);
  });

  it.each([
    '0.0.0.0:10255',
    '10.0.0.5:10255',
    'localhost:10255',
    '10255',
    '[::]:10255',
    'unix:relative.sock',
  ])('ECS_INGRESS_DYNAMIC_CONTROL_LISTEN refuses %s (not loopback)', (value) => {
    const errors = errorsOf({ ...BASE, ECS_INGRESS_DYNAMIC_CONTROL_LISTEN: value });
    expect(errors.map((e) => e.variable)).toEqual(['ECS_INGRESS_DYNAMIC_CONTROL_LISTEN']);
    expect(errors[0]?.message).toMatch(/ECS_INGRESS_DYNAMIC_CONTROL_LISTEN.*loopback/);
  });

  it.each<[string, Record<string, string>, string, RegExp]>([
    [
      'a stream service name NGINX cannot take',
      { ...BASE, ECS_INGRESS_STREAM_SERVICES: 'web,a b' },
      'ECS_INGRESS_STREAM_SERVICES',
      /none, all, or a comma-separated list/,
    ],
    [
      'all inside a list',
      { ...BASE, ECS_INGRESS_STREAM_SERVICES: 'web,all' },
      'ECS_INGRESS_STREAM_SERVICES',
      /comma-separated list/,
    ],
    [
      'only commas',
      { ...BASE, ECS_INGRESS_STREAM_SERVICES: ',,' },
      'ECS_INGRESS_STREAM_SERVICES',
      /comma-separated list/,
    ],
    [
      'two dynamic files at one path',
      { ...BASE, ECS_INGRESS_STREAM_UPSTREAMS_FILE: '/app/nginx/upstreams.http.conf' },
      'ECS_INGRESS_STREAM_UPSTREAMS_FILE',
      /must differ from ECS_INGRESS_DYNAMIC_UPSTREAMS_FILE/,
    ],
  ])('dynamic mode: %s is refused, naming the variable', (_name, env, variable, message) => {
    const errors = errorsOf(env);
    expect(errors.map((e) => e.variable)).toEqual([variable]);
    expect(errors[0]?.message).toMatch(message);
    expect(errors[0]?.message).toContain(variable);
  });

  it.each<[string, Record<string, string>, string, RegExp]>([
    ['bad region', { AWS_REGION: 'Ireland' }, 'AWS_REGION', /does not look like/],
    [
      'bad duration',
      { ...BASE, ECS_INGRESS_POLL_INTERVAL: 'soon' },
      'ECS_INGRESS_POLL_INTERVAL',
      /expected a duration/,
    ],
    [
      'zero interval',
      { ...BASE, ECS_INGRESS_RESYNC_INTERVAL: '0s' },
      'ECS_INGRESS_RESYNC_INTERVAL',
      /greater than zero/,
    ],
    ['bad port', { ...BASE, ECS_INGRESS_HTTP_PORT: '70000' }, 'ECS_INGRESS_HTTP_PORT', /TCP port/],
    [
      'bad agent URL',
      { ...BASE, ECS_INGRESS_AGENT_URL: '127.0.0.1:51678' },
      'ECS_INGRESS_AGENT_URL',
      /http\(s\) URL/,
    ],
    [
      'bad mode',
      { ...BASE, ECS_INGRESS_QUEUE_MODE: 'fanout' },
      'ECS_INGRESS_QUEUE_MODE',
      /per-instance, shared, none/,
    ],
    [
      'shared without URL',
      { ...BASE, ECS_INGRESS_QUEUE_MODE: 'shared' },
      'ECS_INGRESS_QUEUE_URL',
      /required/,
    ],
    [
      'URL outside shared mode',
      { ...BASE, ECS_INGRESS_QUEUE_MODE: 'per-instance', ECS_INGRESS_QUEUE_URL: 'http://127.0.0.1/q' },
      'ECS_INGRESS_QUEUE_URL',
      /only used in shared mode/,
    ],
    ['bad URL', { ...BASE, ECS_INGRESS_QUEUE_URL: 'queue-1' }, 'ECS_INGRESS_QUEUE_URL', /http\(s\) URL/],
    [
      'bucket without key',
      { ...BASE, NGINX_CONFIG_BUNDLE_S3_BUCKET: 'b' },
      'NGINX_CONFIG_BUNDLE_S3_KEY',
      /together/,
    ],
    [
      'key without bucket',
      { ...BASE, NGINX_CONFIG_BUNDLE_S3_KEY: 'k' },
      'NGINX_CONFIG_BUNDLE_S3_BUCKET',
      /together/,
    ],
    [
      'two bundle sources',
      {
        ...BASE,
        NGINX_CONFIG_BUNDLE_S3_BUCKET: 'b',
        NGINX_CONFIG_BUNDLE_S3_KEY: 'k',
        NGINX_CONFIG_DIR: '/x',
      },
      'NGINX_CONFIG_DIR',
      /choose one/,
    ],
    [
      'main file outside',
      { ...BASE, NGINX_CONFIG_FILE_NAME: '../etc/nginx.conf' },
      'NGINX_CONFIG_FILE_NAME',
      /inside the bundle/,
    ],
    [
      'absolute main file',
      { ...BASE, NGINX_CONFIG_FILE_NAME: '/etc/nginx.conf' },
      'NGINX_CONFIG_FILE_NAME',
      /inside the bundle/,
    ],
    [
      'bad prefix',
      { ...BASE, ECS_INGRESS_QUEUE_PREFIX: 'ecs ingress' },
      'ECS_INGRESS_QUEUE_PREFIX',
      /1\.\.32/,
    ],
    [
      'reap too soon',
      { ...BASE, ECS_INGRESS_HEARTBEAT_INTERVAL: '5m', ECS_INGRESS_REAP_AFTER: '10m' },
      'ECS_INGRESS_REAP_AFTER',
      /3 × ECS_INGRESS_HEARTBEAT_INTERVAL \(15m\)/,
    ],
    [
      'debounce inverted',
      { ...BASE, ECS_INGRESS_DEBOUNCE_MIN: '3s', ECS_INGRESS_DEBOUNCE_MAX: '1s' },
      'ECS_INGRESS_DEBOUNCE_MAX',
      /≥ ECS_INGRESS_DEBOUNCE_MIN/,
    ],
    [
      'endpoint debounce inverted',
      { ...BASE, ECS_INGRESS_ENDPOINT_DEBOUNCE_MIN: '50ms', ECS_INGRESS_ENDPOINT_DEBOUNCE_MAX: '10ms' },
      'ECS_INGRESS_ENDPOINT_DEBOUNCE_MAX',
      /≥ ECS_INGRESS_ENDPOINT_DEBOUNCE_MIN/,
    ],
    ['bad level', { ...BASE, ECS_INGRESS_LOG_LEVEL: 'verbose' }, 'ECS_INGRESS_LOG_LEVEL', /one of trace/],
    [
      'bad upstream mode',
      { ...BASE, ECS_INGRESS_UPSTREAM_MODE: 'lua' },
      'ECS_INGRESS_UPSTREAM_MODE',
      /reload, dynamic/,
    ],
    [
      'bad malformed',
      { ...BASE, ECS_INGRESS_MALFORMED_MESSAGES: 'dlq' },
      'ECS_INGRESS_MALFORMED_MESSAGES',
      /delete, leave/,
    ],
  ])('%s: names %s', (_, env, variable, message) => {
    const errors = errorsOf(env);
    expect(errors.map((e) => e.variable)).toEqual([variable]);
    expect(errors[0]?.message).toMatch(message);
    expect(errors[0]?.message.startsWith(`${variable}: `)).toBe(true);
  });

  it('reports every problem at once', () => {
    let thrown: unknown;
    try {
      loadConfig({
        AWS_REGION: 'Ireland',
        ECS_INGRESS_HTTP_PORT: 'x',
        ECS_INGRESS_DEBOUNCE_MIN: 'y',
        ECS_INGRESS_LOG_LEVEL: 'z',
      });
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(ConfigErrors);
    const errors = (thrown as ConfigErrors).errors;
    expect(errors.map((e) => e.variable).sort()).toEqual([
      'AWS_REGION',
      'ECS_INGRESS_DEBOUNCE_MIN',
      'ECS_INGRESS_HTTP_PORT',
      'ECS_INGRESS_LOG_LEVEL',
    ]);
    expect((thrown as ConfigErrors).code).toBe('ECS_INGRESS_CONFIG_INVALID');
    for (const e of errors) expect((thrown as Error).message).toContain(e.message);
  });
});

describe('CONFIG_VARIABLES', () => {
  it('names each variable once', () => {
    const names = CONFIG_VARIABLES.map((v) => v.name);
    expect(new Set(names).size).toBe(names.length);
  });

  it('documents every variable loadConfig reads', () => {
    // Record which names loadConfig looks at through a Proxy over the environment.
    const read = new Set<string>();
    const env = new Proxy<Record<string, string | undefined>>(
      { ...BASE },
      {
        get(target, name) {
          if (typeof name === 'string') read.add(name);
          return target[name as string];
        },
      },
    );
    loadConfig(env);
    // Endpoint overrides and the ECS marker are the SDK's and ECS's own variables, documented as such.
    const ours = [...read].filter(
      (n) =>
        !n.startsWith('AWS_ENDPOINT_URL') &&
        n !== 'ECS_CONTAINER_METADATA_URI_V4' &&
        n !== 'AWS_DEFAULT_REGION',
    );
    const documented = new Set(CONFIG_VARIABLES.map((v) => v.name));
    expect(ours.filter((n) => !documented.has(n))).toEqual([]);
    expect([...documented].filter((n) => !read.has(n))).toEqual([]);
  });

  it('formats the help text and the documented table with every variable', () => {
    const help = formatConfigHelp();
    const table = formatConfigTable();
    for (const v of CONFIG_VARIABLES) {
      expect(help).toContain(v.name);
      expect(table).toContain(`| \`${v.name}\` |`);
    }
  });
});

/** docs/configuration.md's table is generated from CONFIG_VARIABLES (scripts/update-config-doc.ts). */
const CONFIG_DOC = new URL('../../../../docs/configuration.md', import.meta.url);
const readmeText = existsSync(CONFIG_DOC) ? readFileSync(CONFIG_DOC, 'utf8') : '';
const readmeHasTable = readmeText.includes('| `AWS_CLUSTER_NAME` |');

describe('docs/configuration.md table', () => {
  it('exists', () => {
    expect(readmeHasTable).toBe(true);
  });

  it.each(CONFIG_VARIABLES.map((v) => v.name))('lists %s exactly once', (name) => {
    const rows = readmeText.split('\n').filter((line) => line.startsWith(`| \`${name}\` |`));
    expect(rows).toHaveLength(1);
  });
});
