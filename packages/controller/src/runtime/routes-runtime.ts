/**
 * The runtime's two I/O edges of routes from labels: reading every `nginx -t` of an apply (NGINX's
 * "conflicting server name" warning names the hosts a bundle server already has), and the route
 * files' last known good copies at a restart.
 */
import { NginxRunner } from '@ecs-ingress/nginx-runner';
import type { ApplyTarget, NginxTestResult } from '../reconciler/apply-config.js';
import {
  combineRoutesHash,
  type RoutesRender,
  type RoutesRenderer,
  readRoutesHash,
} from '../routes/routes-renderer.js';

/** The runner as an apply target whose `test()` output is also handed to `observe`. */
export function observedTarget<
  T extends ApplyTarget & { onEvent(listener: (event: { readonly type: string }) => void): () => void },
>(runner: T, observe: (output: string) => void): ApplyTarget & Pick<T, 'onEvent'> {
  return {
    writeFiles: (files) => runner.writeFiles(files),
    async test(): Promise<NginxTestResult> {
      const result = await runner.test();
      if (result.ok) observe(result.output);
      return result;
    },
    reload: () => runner.reload(),
    commit: () => runner.commit(),
    rollback: () => runner.rollback(),
    onEvent: (listener) => runner.onEvent(listener),
  };
}

/**
 * Puts the route files' last good copies back (as the runner does for the upstreams file) and
 * returns them as the routes that serve, without a table (it is rebuilt at the first sync).
 * Undefined when either copy is missing or not ours.
 */
export async function restoreLastGoodRoutes(
  runner: Pick<NginxRunner, 'restoreLastGood'>,
  routes: RoutesRenderer,
): Promise<RoutesRender | undefined> {
  const [httpFile, streamFile] = routes.filePaths();
  const http = await NginxRunner.lastKnownGood(httpFile);
  const stream = await NginxRunner.lastKnownGood(streamFile);
  const httpHash = http === undefined ? undefined : readRoutesHash(http, 'http');
  const streamHash = stream === undefined ? undefined : readRoutesHash(stream, 'stream');
  if (http === undefined || stream === undefined || httpHash === undefined || streamHash === undefined) {
    return undefined;
  }
  await runner.restoreLastGood(httpFile);
  await runner.restoreLastGood(streamFile);
  return {
    table: { hosts: [], tcp: [], reports: [] },
    files: [
      { path: httpFile, content: http },
      { path: streamFile, content: stream },
    ],
    hash: combineRoutesHash(httpHash, streamHash),
    // Not known from the files; only dynamic mode's stream file needs them, and it never starts from here.
    tcpUpstreams: [],
  };
}
