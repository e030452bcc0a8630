/**
 * Every environment variable `ecs-ingress run` (and `record`) reads: its name, default and
 * meaning. docs/configuration.md's table and `run --help` are generated from (and checked
 * against) this list, so a variable cannot exist in the code without being documented.
 */

export interface ConfigVariable {
  readonly name: string;
  /** The default as a user would write it; `undefined` when the variable has none (optional or required). */
  readonly default?: string;
  readonly description: string;
}

export const CONFIG_VARIABLES: readonly ConfigVariable[] = [
  // Kept from the Go "ECS Ingress".
  { name: 'AWS_CLUSTER_NAME', default: 'default', description: 'ECS cluster to watch (name or ARN).' },
  {
    name: 'AWS_REGION',
    description:
      "AWS region of the cluster. Unset: AWS_DEFAULT_REGION, else the profile's region (AWS_PROFILE, ~/.aws/config), as the AWS CLI and SDK resolve it; start-up fails when none is found, with an endpoint override too.",
  },
  {
    name: 'NGINX_CONFIG_BUNDLE_S3_BUCKET',
    description: 'S3 bucket of the NGINX config bundle (zip or tar.gz). Set together with the key.',
  },
  { name: 'NGINX_CONFIG_BUNDLE_S3_KEY', description: 'S3 key of the NGINX config bundle.' },
  {
    name: 'NGINX_CONFIG_FILE_NAME',
    default: 'nginx.conf',
    description: 'The main NGINX file inside the bundle (a relative path).',
  },
  // Ours.
  {
    name: 'NGINX_CONFIG_DIR',
    description:
      'A local directory holding the NGINX config bundle, watched for changes (instead of S3). Neither set: the built-in default config.',
  },
  {
    name: 'ECS_INGRESS_UPSTREAMS_FILE',
    default: '/app/nginx/upstreams.conf',
    description:
      'Reload mode: the upstreams file ecs-ingress writes and the config includes in `http` and `stream`. Dynamic mode does not write it; its three files default to the same directory.',
  },
  {
    name: 'ECS_INGRESS_WORK_DIR',
    default: '/app/nginx',
    description: "NGINX's prefix and where bundles are staged, kept and rejected.",
  },
  { name: 'ECS_INGRESS_NGINX_BINARY', default: '/usr/sbin/nginx', description: 'The NGINX executable.' },
  {
    name: 'ECS_INGRESS_UPSTREAM_MODE',
    default: 'reload',
    description:
      '`reload`: every change reloads NGINX. `dynamic`: endpoint-only changes go to the Lua balancer without reload; needs the NDK and Lua modules (loaded NDK first) and the config to include ECS_INGRESS_DYNAMIC_PREAMBLE_FILE then ECS_INGRESS_DYNAMIC_UPSTREAMS_FILE in `http`, and ECS_INGRESS_STREAM_UPSTREAMS_FILE in `stream` if it uses `stream`.',
  },
  {
    name: 'ECS_INGRESS_DYNAMIC_PREAMBLE_FILE',
    default: '/app/nginx/ecs-ingress-dynamic.conf',
    description:
      'Dynamic mode: Lua search path, shared dictionary, the Lua init and the loopback control server. Include it once in `http`, before the upstreams. Default: `ecs-ingress-dynamic.conf` beside ECS_INGRESS_UPSTREAMS_FILE.',
  },
  {
    name: 'ECS_INGRESS_DYNAMIC_UPSTREAMS_FILE',
    default: '/app/nginx/upstreams.http.conf',
    description:
      'Dynamic mode: one `upstream <service>` per ECS service with a Lua balancer (valid in `http` only). Include it in `http`. Default: `upstreams.http.conf` beside ECS_INGRESS_UPSTREAMS_FILE.',
  },
  {
    name: 'ECS_INGRESS_STREAM_UPSTREAMS_FILE',
    default: '/app/nginx/upstreams.stream.conf',
    description:
      'Dynamic mode: plain `upstream` blocks of the services in ECS_INGRESS_STREAM_SERVICES, for `stream` (reload-based: Debian has no stream Lua module). Include it in `stream`. Default: `upstreams.stream.conf` beside ECS_INGRESS_UPSTREAMS_FILE.',
  },
  {
    name: 'ECS_INGRESS_ROUTES_HTTP_FILE',
    default: '/app/nginx/routes.http.conf',
    description:
      'Routes from labels: the generated `server` blocks. Include it in `http` after your own servers (a bundle `server_name` wins over a label). Default: `routes.http.conf` beside ECS_INGRESS_UPSTREAMS_FILE.',
  },
  {
    name: 'ECS_INGRESS_ROUTES_STREAM_FILE',
    default: '/app/nginx/routes.stream.conf',
    description:
      'Routes from labels: the generated tcp `server` blocks. Include it in `stream`. Default: `routes.stream.conf` beside ECS_INGRESS_UPSTREAMS_FILE.',
  },
  {
    name: 'ECS_INGRESS_HOST_POLICY',
    description:
      'Which hosts a service may claim with labels: `<service-glob>=<host-pattern>[,<host-pattern>]` rules separated by `;`, the first matching rule decides (e.g. `orders-*=*.orders.example.com;*=*.apps.example.com`). Unset: any host.',
  },
  {
    name: 'ECS_INGRESS_DEFAULT_DOMAIN',
    description:
      'Gives an http route without `hosts` the host `<service>.<domain>`. Unset: such a route is invalid.',
  },
  {
    name: 'ECS_INGRESS_TCP_PORTS',
    description: 'Ports tcp routes may listen on: `5432,6379,10000-10100`. Unset: no tcp route is rendered.',
  },
  {
    name: 'ECS_INGRESS_ROUTES_HTTP_LISTEN',
    default: '80',
    description:
      '`listen` arguments of the generated http servers (port, ipv4:port or [ipv6]:port), separated by spaces or commas.',
  },
  {
    name: 'ECS_INGRESS_ROUTES_HTTPS_LISTEN',
    default: '443',
    description:
      '`listen` arguments (`ssl` added) of the generated servers of hosts with `tls=bundle:<name>`.',
  },
  {
    name: 'ECS_INGRESS_ROUTES_DEFAULT_SERVER',
    default: 'auto',
    description:
      '`on`: the route file adds a `default_server` answering 404 for unknown hosts (your bundle must not have one on those ports); `off`: it does not; `auto`: on with the built-in config only.',
  },
  {
    name: 'ECS_INGRESS_STREAM_SERVICES',
    default: 'none',
    description:
      'Dynamic mode: the services that get `upstream` blocks in ECS_INGRESS_STREAM_UPSTREAMS_FILE: `none`, `all`, or a comma-separated list (e.g. `tcp-echo,redis`). Every task change of a listed service reloads NGINX, so list only what a `stream` block proxies to.',
  },
  {
    name: 'ECS_INGRESS_DYNAMIC_CONTROL_LISTEN',
    default: '127.0.0.1:10255',
    description:
      'Dynamic mode: where the NGINX control server that receives endpoint sets listens: `127.x.x.x:<port>`, `[::1]:<port>` or `unix:/<path>`; any other address is refused (it rewrites routing).',
  },
  {
    name: 'ECS_INGRESS_QUEUE_MODE',
    default: 'per-instance on ECS, else none',
    description:
      '`per-instance`: create an SQS queue and EventBridge rule for this daemon, delete them at shutdown. `shared`: consume ECS_INGRESS_QUEUE_URL. `none`: poll only. Defaults to per-instance when ECS_CONTAINER_METADATA_URI_V4 is set, to shared when ECS_INGRESS_QUEUE_URL is set.',
  },
  { name: 'ECS_INGRESS_QUEUE_URL', description: 'The queue URL in `shared` mode.' },
  {
    name: 'ECS_INGRESS_INSTANCE_ID',
    default: 'on ECS the container instance (from the ECS agent), else the host name',
    description:
      'Identifies this daemon in per-instance queue and rule names and tags. Unset on ECS: the container instance ARN from the ECS agent (its id in names, the ARN in the `ecs-ingress:instance` tag), the host name when the agent does not answer within 1 s.',
  },
  {
    name: 'ECS_INGRESS_AGENT_URL',
    default: 'http://127.0.0.1:51678 on ECS',
    description:
      "The ECS agent's introspection endpoint, asked (`/v1/metadata`) for the container instance when ECS_INGRESS_INSTANCE_ID is unset. The agent is only asked on ECS (ECS_CONTAINER_METADATA_URI_V4 set) or when this is set; reaching 127.0.0.1 needs host networking (EC2 launch type).",
  },
  {
    name: 'ECS_INGRESS_QUEUE_PREFIX',
    default: 'ecs-ingress-',
    description: 'Name prefix of per-instance queues and rules (1..32 of A-Z a-z 0-9 _ -).',
  },
  {
    name: 'ECS_INGRESS_MALFORMED_MESSAGES',
    default: 'delete',
    description:
      "Unparseable queue messages: `delete` after logging, or `leave` them for the queue's redrive policy.",
  },
  {
    name: 'ECS_INGRESS_HEARTBEAT_INTERVAL',
    default: '5m',
    description: 'How often the per-instance queue and rule get a fresh heartbeat tag.',
  },
  {
    name: 'ECS_INGRESS_REAP_AFTER',
    default: '1h',
    description:
      'Per-instance queues and rules of this cluster whose heartbeat is older than this are deleted at start-up (at least 3 heartbeat intervals).',
  },
  {
    name: 'ECS_INGRESS_RESYNC_INTERVAL',
    default: '5m',
    description: 'Full sync from the ECS API while events flow.',
  },
  {
    name: 'ECS_INGRESS_POLL_INTERVAL',
    default: '10s',
    description: 'Full sync interval when no queue is configured or the queue has failed.',
  },
  {
    name: 'ECS_INGRESS_QUEUE_GRACE_PERIOD',
    default: '60s',
    description: 'How long the queue may fail before polling takes over.',
  },
  {
    name: 'ECS_INGRESS_HEALTH_CHECK_INTERVAL',
    default: '2s',
    description: 'How often tasks awaiting a container health check are described.',
  },
  {
    name: 'ECS_INGRESS_DEBOUNCE_MIN',
    default: '200ms',
    description: 'Quiet time after a change before it is applied.',
  },
  {
    name: 'ECS_INGRESS_DEBOUNCE_MAX',
    default: '2s',
    description: 'Longest wait from the first pending change to its apply.',
  },
  {
    name: 'ECS_INGRESS_ENDPOINT_DEBOUNCE_MIN',
    default: '0',
    description:
      'Dynamic mode: quiet time before an endpoint-only change (a push to the Lua balancer, no reload) is pushed. 0: at once, as soon as the code that changed the state has run (a microtask), coalescing what changed together; one push in flight, changes meanwhile go in one follow-up. Structural changes keep ECS_INGRESS_DEBOUNCE_MIN/MAX.',
  },
  {
    name: 'ECS_INGRESS_ENDPOINT_DEBOUNCE_MAX',
    default: '100ms',
    description: 'Dynamic mode: longest wait from the first pending endpoint-only change to its push.',
  },
  {
    name: 'ECS_INGRESS_MIN_RELOAD_INTERVAL',
    default: '1s',
    description: 'Minimum time between two NGINX reloads.',
  },
  {
    name: 'ECS_INGRESS_TOMBSTONE_TTL',
    default: '15m',
    description: 'How long a stopped task is remembered, so a late RUNNING event cannot bring it back.',
  },
  {
    name: 'ECS_INGRESS_BUNDLE_CHECK_INTERVAL',
    default: '30s',
    description: 'How often the S3 bundle is checked (a conditional GET on its ETag).',
  },
  {
    name: 'ECS_INGRESS_HTTP_HOST',
    default: '0.0.0.0',
    description:
      'Bind address of /metrics, /healthz and /readyz (Prometheus and the load balancer reach them).',
  },
  { name: 'ECS_INGRESS_HTTP_PORT', default: '10254', description: 'Port of /metrics, /healthz and /readyz.' },
  {
    name: 'ECS_INGRESS_DEBUG_LISTEN',
    default: '127.0.0.1:10256',
    description:
      '`<host>:<port>` of /debug/state and /debug/upstreams (every task ARN and IP address), or `off`. Loopback by default: `curl 127.0.0.1:10256/debug/state` on the host; name another address only on purpose. The same address as ECS_INGRESS_HTTP_HOST:ECS_INGRESS_HTTP_PORT serves everything on one listener.',
  },
  {
    name: 'ECS_INGRESS_LOG_LEVEL',
    default: 'info',
    description: 'trace, debug, info, warn, error, fatal or silent.',
  },
  {
    name: 'ECS_INGRESS_SHARED_S3_URI',
    default: 'unset',
    description:
      '`s3://<bucket>/<prefix>` shared by a fleet of daemons: task definitions cached per revision, one elected lister whose cluster listing the others read (docs/fleet.md). Unset: every daemon lists the cluster by itself.',
  },
  {
    name: 'ECS_INGRESS_SHARED_LEASE_TIME',
    default: '60s',
    description:
      "With ECS_INGRESS_SHARED_S3_URI: how long the lister's lease holds unrenewed; a dead lister is replaced within it. At least 5 × ECS_INGRESS_SHARED_RENEW_INTERVAL.",
  },
  {
    name: 'ECS_INGRESS_SHARED_RENEW_INTERVAL',
    default: '10s',
    description:
      'With ECS_INGRESS_SHARED_S3_URI: how often (±20 % jitter) each daemon renews or reads the lease, and a follower checks for a new listing (a conditional GET).',
  },
];

/** `NAME  (default: x)  description` lines for `--help`. */
export function formatConfigHelp(variables: readonly ConfigVariable[] = CONFIG_VARIABLES): string {
  const width = Math.max(...variables.map((v) => v.name.length));
  const lines = variables.map((v) => {
    const def = v.default === undefined ? '' : ` (default: ${v.default})`;
    return `  ${v.name.padEnd(width)}  ${v.description}${def}`;
  });
  return `Environment variables:\n${lines.join('\n')}\n`;
}

/** The markdown table of docs/configuration.md. */
export function formatConfigTable(variables: readonly ConfigVariable[] = CONFIG_VARIABLES): string {
  const rows = variables.map(
    (v) => `| \`${v.name}\` | ${v.default === undefined ? '' : `\`${v.default}\``} | ${v.description} |`,
  );
  return ['| Variable | Default | Meaning |', '|---|---|---|', ...rows].join('\n');
}
