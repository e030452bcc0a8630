import { describe, expect, it } from 'vitest';
import { ConfigErrors, loadConfig } from './env.js';

function variablesAtFault(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
    return [];
  } catch (err) {
    if (!(err instanceof ConfigErrors)) throw err;
    return err.errors.map((e) => e.variable);
  }
}

describe('routes from labels: configuration', () => {
  it('defaults: the files beside the upstreams file, ports 80/443, no policy, no tcp port', () => {
    const config = loadConfig({ ECS_INGRESS_UPSTREAMS_FILE: '/srv/nginx/upstreams.conf' });
    expect(config.routes).toEqual({
      httpFile: '/srv/nginx/routes.http.conf',
      streamFile: '/srv/nginx/routes.stream.conf',
      tcpPorts: [],
      httpListen: ['80'],
      httpsListen: ['443'],
      defaultServer: 'auto',
    });
  });

  it('reads the policy, the domain, the tcp ports and the listen addresses', () => {
    const config = loadConfig({
      ECS_INGRESS_HOST_POLICY: 'orders-*=*.orders.example.com;*=*.apps.example.com',
      ECS_INGRESS_DEFAULT_DOMAIN: 'Apps.Example.com',
      ECS_INGRESS_TCP_PORTS: '5432, 10000-10002',
      ECS_INGRESS_ROUTES_HTTP_LISTEN: '127.0.0.1:8080 [::1]:8080',
      ECS_INGRESS_ROUTES_HTTPS_LISTEN: '8443',
      ECS_INGRESS_ROUTES_DEFAULT_SERVER: 'off',
    });
    expect(config.routes).toMatchObject({
      hostPolicy: [
        { service: 'orders-*', hosts: ['*.orders.example.com'] },
        { service: '*', hosts: ['*.apps.example.com'] },
      ],
      defaultDomain: 'apps.example.com',
      tcpPorts: [
        { from: 5432, to: 5432 },
        { from: 10000, to: 10002 },
      ],
      httpListen: ['127.0.0.1:8080', '[::1]:8080'],
      httpsListen: ['8443'],
      defaultServer: 'off',
    });
  });

  it.each([
    ['ECS_INGRESS_HOST_POLICY', 'no-equals-sign'],
    ['ECS_INGRESS_DEFAULT_DOMAIN', '*.example.com'],
    ['ECS_INGRESS_TCP_PORTS', '70000'],
    ['ECS_INGRESS_ROUTES_HTTP_LISTEN', '80; include /etc/passwd'],
    ['ECS_INGRESS_ROUTES_HTTPS_LISTEN', 'localhost:443'],
    ['ECS_INGRESS_ROUTES_DEFAULT_SERVER', 'yes'],
  ])('%s=%j is refused, naming the variable', (name, value) => {
    expect(variablesAtFault({ [name]: value })).toEqual([name]);
  });

  it('the route files must be distinct from each other and from the upstreams file', () => {
    expect(
      variablesAtFault({
        ECS_INGRESS_ROUTES_HTTP_FILE: '/a/r.conf',
        ECS_INGRESS_ROUTES_STREAM_FILE: '/a/r.conf',
      }),
    ).toEqual(['ECS_INGRESS_ROUTES_STREAM_FILE']);
    expect(
      variablesAtFault({
        ECS_INGRESS_UPSTREAMS_FILE: '/a/u.conf',
        ECS_INGRESS_ROUTES_HTTP_FILE: '/a/u.conf',
      }),
    ).toEqual(['ECS_INGRESS_ROUTES_HTTP_FILE']);
  });
});
