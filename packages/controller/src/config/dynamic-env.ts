/**
 * The variables of dynamic upstream mode (issue 7): the three files it writes beside the upstreams
 * file, the loopback control server, the services whose stream upstreams it renders and the
 * debounce of endpoint-only changes. Read and validated in both modes, so a typo shows before the
 * switch to `dynamic`; each malformed value is reported with its variable's name, with the others.
 */
import { dirname, join } from 'node:path';
import { checkControlListen, isSafeUpstreamName } from '@ecs-ingress/renderer';
import { parseStreamServices, type StreamServices } from '../dynamic/dynamic-render.js';
import { formatDurationMs } from './duration.js';
import type { EnvReader } from './env-reader.js';

export interface DynamicModeConfig {
  /** ECS_INGRESS_DYNAMIC_PREAMBLE_FILE: Lua path, shared dict, control server (include in `http` first). */
  readonly preambleFile: string;
  /** ECS_INGRESS_DYNAMIC_UPSTREAMS_FILE: the Lua-balanced `upstream` blocks (include in `http`). */
  readonly httpUpstreamsFile: string;
  /** ECS_INGRESS_STREAM_UPSTREAMS_FILE: plain `upstream` blocks for `stream` (reload-based). */
  readonly streamUpstreamsFile: string;
  /** ECS_INGRESS_DYNAMIC_CONTROL_LISTEN: `127.x.x.x:<port>`, `[::1]:<port>` or `unix:/path`. */
  readonly controlListen: string;
  /** ECS_INGRESS_STREAM_SERVICES. */
  readonly streamServices: StreamServices;
  /** ECS_INGRESS_ENDPOINT_DEBOUNCE_MIN / _MAX: the debounce of endpoint-only changes (a push, no reload). */
  readonly endpointDebounce: { readonly minMs: number; readonly maxMs: number };
}

/** Default file names of dynamic mode, in the directory of ECS_INGRESS_UPSTREAMS_FILE. */
export const DYNAMIC_FILE_NAMES = {
  preambleFile: 'ecs-ingress-dynamic.conf',
  httpUpstreamsFile: 'upstreams.http.conf',
  streamUpstreamsFile: 'upstreams.stream.conf',
} as const;

/** Default control server of dynamic mode: loopback, next to the HTTP endpoints' 10254. */
export const DEFAULT_DYNAMIC_CONTROL_LISTEN = '127.0.0.1:10255';

/** The dynamic-mode variables (validated in both modes, so a typo shows before switching). */
export function readDynamicConfig(r: EnvReader, upstreamsFile: string): DynamicModeConfig {
  const dir = dirname(upstreamsFile);
  const files = {
    preambleFile: r.path('ECS_INGRESS_DYNAMIC_PREAMBLE_FILE', join(dir, DYNAMIC_FILE_NAMES.preambleFile)),
    httpUpstreamsFile: r.path(
      'ECS_INGRESS_DYNAMIC_UPSTREAMS_FILE',
      join(dir, DYNAMIC_FILE_NAMES.httpUpstreamsFile),
    ),
    streamUpstreamsFile: r.path(
      'ECS_INGRESS_STREAM_UPSTREAMS_FILE',
      join(dir, DYNAMIC_FILE_NAMES.streamUpstreamsFile),
    ),
  };
  // One file holding two of them would be overwritten by the other on every apply.
  const variables = {
    preambleFile: 'ECS_INGRESS_DYNAMIC_PREAMBLE_FILE',
    httpUpstreamsFile: 'ECS_INGRESS_DYNAMIC_UPSTREAMS_FILE',
    streamUpstreamsFile: 'ECS_INGRESS_STREAM_UPSTREAMS_FILE',
  } as const;
  const seen = new Map<string, string>();
  for (const [key, path] of Object.entries(files) as [keyof typeof files, string][]) {
    const other = seen.get(path);
    if (other !== undefined) r.fail(variables[key], `must differ from ${other}, both are ${path}`);
    else seen.set(path, variables[key]);
  }

  let controlListen = r.string('ECS_INGRESS_DYNAMIC_CONTROL_LISTEN', DEFAULT_DYNAMIC_CONTROL_LISTEN);
  try {
    // The control endpoint rewrites routing: never on an address another host can reach.
    checkControlListen(controlListen);
  } catch {
    r.fail(
      'ECS_INGRESS_DYNAMIC_CONTROL_LISTEN',
      `must be a loopback address (127.x.x.x:<port>, [::1]:<port>) or unix:/<path>, got ${JSON.stringify(controlListen)}`,
    );
    controlListen = DEFAULT_DYNAMIC_CONTROL_LISTEN;
  }

  const endpointDebounce = {
    minMs: r.duration('ECS_INGRESS_ENDPOINT_DEBOUNCE_MIN', 0, { allowZero: true }),
    maxMs: r.duration('ECS_INGRESS_ENDPOINT_DEBOUNCE_MAX', 100, { allowZero: true }),
  };
  if (endpointDebounce.maxMs < endpointDebounce.minMs) {
    r.fail(
      'ECS_INGRESS_ENDPOINT_DEBOUNCE_MAX',
      `must be ≥ ECS_INGRESS_ENDPOINT_DEBOUNCE_MIN (${formatDurationMs(endpointDebounce.minMs)}), got ${formatDurationMs(endpointDebounce.maxMs)}`,
    );
    endpointDebounce.maxMs = endpointDebounce.minMs;
  }

  const streamRaw = r.raw('ECS_INGRESS_STREAM_SERVICES');
  const streamServices = parseStreamServices(streamRaw);
  if (Array.isArray(streamServices)) {
    const bad = streamServices.filter(
      (name) => name === 'all' || name === 'none' || !isSafeUpstreamName(name),
    );
    if (bad.length > 0 || streamServices.length === 0) {
      r.fail(
        'ECS_INGRESS_STREAM_SERVICES',
        `must be none, all, or a comma-separated list of service names, got ${JSON.stringify(streamRaw)}`,
      );
      return { ...files, controlListen, streamServices: 'none', endpointDebounce };
    }
  }
  return { ...files, controlListen, streamServices, endpointDebounce };
}
