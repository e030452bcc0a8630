/**
 * `replay --nginx --local-backends`: an incident replays safely anywhere. Every address the
 * recording would route to (ENI addresses, container instance addresses with host ports) is
 * served by a small stub on loopback, the demo's backends (demo/backends.ts): 192.0.2.23:8080 →
 * 127.0.0.23:<port>. NGINX only ever sees the 127.x addresses: the derivation's servers are
 * rewritten before they are rendered, so nothing reaches the recorded hosts.
 *
 * The addresses are found by a first pass over the recording through the same store and
 * derivation (every server any line's state derives), so the stubs exist before NGINX starts.
 */

import { readRecording } from '@ecs-ingress/sources';
import type { Endpoint, Upstream } from '@ecs-ingress/types';
import { type BackendTarget, type LocalBackends, startLocalBackends } from '../../demo/backends.js';
import { applyLine, emptyCounts } from './apply-recording.js';
import type { ReplayDerivation, ReplayModel } from './replay-model.js';

/** Every endpoint a recording's states derive, once per address:port, in first-seen order. */
async function recordedEndpoints<S>(
  model: ReplayModel<S>,
  file: string,
  cluster?: string,
): Promise<BackendTarget[]> {
  const store = model.createStore();
  const counts = emptyCounts();
  const found = new Map<string, BackendTarget>();
  const collect = (upstreams: readonly Upstream[]) => {
    for (const upstream of upstreams) {
      for (const server of upstream.servers) {
        const key = `${server.address}:${server.port}`;
        if (!found.has(key))
          found.set(key, {
            ip: server.address,
            port: server.port,
            service: upstream.name,
            shortId: server.taskArn.slice(-8),
          });
      }
    }
  };
  const derive = (state: S) => model.derive(state, cluster === undefined ? {} : { clusterArn: cluster });
  for await (const line of readRecording(file, cluster === undefined ? {} : { cluster })) {
    if (applyLine(store, line, counts).outcome === 'applied') collect(derive(store.snapshot()).upstreams);
  }
  return [...found.values()];
}

export interface ReplayBackends {
  /** `192.0.2.23:8080 → 127.0.0.23:40123 (web task 1a2b3c4d)`, one per stub. */
  readonly lines: readonly string[];
  /** The derivation with every server moved to its stub (an address without one is left out). */
  map<D extends ReplayDerivation>(derived: D): D;
  close(): Promise<void>;
}

/** Starts one stub per recorded endpoint and returns the mapping. */
export async function startReplayBackends<S>(
  model: ReplayModel<S>,
  file: string,
  cluster?: string,
): Promise<ReplayBackends> {
  const targets = await recordedEndpoints(model, file, cluster);
  const local: LocalBackends = await startLocalBackends(targets);
  const stubOf = (server: Endpoint): Endpoint | undefined => {
    const host = local.ips.get(server.address);
    const port = local.ports.get(server.port);
    return host === undefined || port === undefined ? undefined : { ...server, address: host, port };
  };
  return {
    lines: targets.map((t) => {
      const stub = stubOf({ address: t.ip, port: t.port, taskArn: '' });
      return `${t.ip}:${t.port} → ${stub?.address}:${stub?.port} (${t.service} task ${t.shortId})`;
    }),
    map: (derived) => ({
      ...derived,
      upstreams: derived.upstreams.map((upstream) => ({
        ...upstream,
        servers: upstream.servers.flatMap((server) => {
          const stub = stubOf(server);
          return stub === undefined ? [] : [stub];
        }),
      })),
    }),
    close: () => local.close(),
  };
}
