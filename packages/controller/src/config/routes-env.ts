/**
 * The variables of routes from labels (issue 16, docs/routes.md): the two files ecs-ingress writes
 * beside the upstreams file, the operator's policy (hosts a service may claim, the default domain,
 * the tcp ports) and where the generated servers listen. Each malformed value is reported with
 * its variable's name, with the others, at start-up.
 */
import { dirname, join } from 'node:path';
import { RenderOptionError, renderHttpRoutes } from '@ecs-ingress/renderer';
import { ConfigError } from '@ecs-ingress/types';
import {
  type HostPolicyRule,
  type PortRange,
  parseDefaultDomain,
  parseHostPolicy,
  parseTcpPorts,
} from '../routes/route-settings.js';

export interface RoutesConfig {
  /** ECS_INGRESS_ROUTES_HTTP_FILE (absolute): include it in `http`, after the bundle's servers. */
  readonly httpFile: string;
  /** ECS_INGRESS_ROUTES_STREAM_FILE (absolute): include it in `stream`. */
  readonly streamFile: string;
  readonly hostPolicy?: readonly HostPolicyRule[];
  readonly defaultDomain?: string;
  readonly tcpPorts: readonly PortRange[];
  /** ECS_INGRESS_ROUTES_HTTP_LISTEN / _HTTPS_LISTEN: `listen` arguments of the generated servers. */
  readonly httpListen: readonly string[];
  readonly httpsListen: readonly string[];
  /** ECS_INGRESS_ROUTES_DEFAULT_SERVER: `auto` = on with the built-in config only. */
  readonly defaultServer: 'auto' | 'on' | 'off';
}

/** Default file names, in the directory of ECS_INGRESS_UPSTREAMS_FILE. */
export const ROUTES_FILE_NAMES = { http: 'routes.http.conf', stream: 'routes.stream.conf' } as const;

interface VariableReader {
  raw(name: string): string | undefined;
  path(name: string, fallback: string): string;
  fail(name: string, message: string): void;
  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T;
}

function parsed<T>(r: VariableReader, name: string, parse: (text: string) => T): T | undefined {
  const text = r.raw(name);
  if (text === undefined || text.trim() === '') return undefined;
  try {
    return parse(text);
  } catch (err) {
    r.fail(name, err instanceof ConfigError ? err.message.replace(/^[^:]*: /, '') : String(err));
    return undefined;
  }
}

function listenList(r: VariableReader, name: string, fallback: string): string[] {
  const list = (r.raw(name) ?? fallback).split(/[\s,]+/).filter((item) => item !== '');
  try {
    renderHttpRoutes({ hosts: [], tcp: [], reports: [] }, { bundleDir: '/app', httpListen: list });
    return list;
  } catch (err) {
    r.fail(name, err instanceof RenderOptionError ? err.message.replace(/^httpListen: /, '') : String(err));
    return [fallback];
  }
}

export function readRoutesConfig(r: VariableReader, upstreamsFile: string): RoutesConfig {
  const dir = dirname(upstreamsFile);
  const httpFile = r.path('ECS_INGRESS_ROUTES_HTTP_FILE', join(dir, ROUTES_FILE_NAMES.http));
  const streamFile = r.path('ECS_INGRESS_ROUTES_STREAM_FILE', join(dir, ROUTES_FILE_NAMES.stream));
  if (httpFile === streamFile)
    r.fail(
      'ECS_INGRESS_ROUTES_STREAM_FILE',
      `must differ from ECS_INGRESS_ROUTES_HTTP_FILE, both are ${httpFile}`,
    );
  if (httpFile === upstreamsFile || streamFile === upstreamsFile) {
    r.fail(
      'ECS_INGRESS_ROUTES_HTTP_FILE',
      `the route files must differ from ECS_INGRESS_UPSTREAMS_FILE (${upstreamsFile})`,
    );
  }
  const hostPolicy = parsed(r, 'ECS_INGRESS_HOST_POLICY', (text) => parseHostPolicy(text));
  const defaultDomain = parsed(r, 'ECS_INGRESS_DEFAULT_DOMAIN', (text) => parseDefaultDomain(text));
  return {
    httpFile,
    streamFile,
    ...(hostPolicy === undefined || hostPolicy.length === 0 ? {} : { hostPolicy }),
    ...(defaultDomain === undefined ? {} : { defaultDomain }),
    tcpPorts: parsed(r, 'ECS_INGRESS_TCP_PORTS', (text) => parseTcpPorts(text)) ?? [],
    httpListen: listenList(r, 'ECS_INGRESS_ROUTES_HTTP_LISTEN', '80'),
    httpsListen: listenList(r, 'ECS_INGRESS_ROUTES_HTTPS_LISTEN', '443'),
    defaultServer: r.oneOf('ECS_INGRESS_ROUTES_DEFAULT_SERVER', ['auto', 'on', 'off'], 'auto'),
  };
}
