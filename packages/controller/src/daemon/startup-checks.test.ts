import { describe, expect, it } from 'vitest';
import { BundleRejectedError } from '../bundle/errors.js';
import { loadConfig } from '../config/env.js';
import { describeFsError, explainStartupRejection } from './startup-checks.js';

const BASE = { AWS_REGION: 'eu-west-1' };

describe('explainStartupRejection', () => {
  it.each([
    [
      'an S3 bundle that cannot be read',
      { NGINX_CONFIG_BUNDLE_S3_BUCKET: 'configs', NGINX_CONFIG_BUNDLE_S3_KEY: 'edge/bundle.zip' },
      new BundleRejectedError('unreadable', 'cannot fetch the config bundle: NoSuchKey'),
      "cannot fetch the config bundle: NoSuchKey; check NGINX_CONFIG_BUNDLE_S3_BUCKET=configs, NGINX_CONFIG_BUNDLE_S3_KEY=edge/bundle.zip (and s3:GetObject in the task role's policy)",
    ],
    [
      'a directory bundle without its main file',
      { NGINX_CONFIG_DIR: '/srv/bundle', NGINX_CONFIG_FILE_NAME: 'main.conf' },
      new BundleRejectedError('missing-main-file', 'bundle directory /srv/bundle has no main.conf'),
      'bundle directory /srv/bundle has no main.conf; check NGINX_CONFIG_FILE_NAME=main.conf and NGINX_CONFIG_DIR=/srv/bundle',
    ],
  ])('%s names the variables to check', (_what, env, rejection, message) => {
    const explained = explainStartupRejection(loadConfig({ ...BASE, ...env }), rejection);
    expect(explained.message).toBe(message);
    expect(explained.reason).toBe(rejection.reason);
    expect(explained.cause).toBe(rejection);
  });

  it('a reload-layout bundle in dynamic mode names the dynamic includes; in reload mode the refusal is unchanged', () => {
    const env = {
      ...BASE,
      NGINX_CONFIG_DIR: '/srv/bundle',
      ECS_INGRESS_UPSTREAMS_FILE: '/app/nginx/upstreams.conf',
    };
    const rejection = new BundleRejectedError('nginx-test-failed', 'nginx -t refused the bundle', {
      nginxErrors: [
        'nginx: [emerg] open() "/app/nginx/upstreams.conf" failed (2: No such file or directory)',
      ],
    });
    const dynamic = explainStartupRejection(
      loadConfig({ ...env, ECS_INGRESS_UPSTREAM_MODE: 'dynamic' }),
      rejection,
    );
    expect(dynamic.message).toMatch(
      /^ECS_INGRESS_UPSTREAM_MODE=dynamic, but the bundle includes \/app\/nginx\/upstreams\.conf/,
    );
    expect(dynamic.message).toContain(
      '/app/nginx/ecs-ingress-dynamic.conf (ECS_INGRESS_DYNAMIC_PREAMBLE_FILE)',
    );
    expect(dynamic.nginxErrors).toEqual(rejection.nginxErrors);
    expect(explainStartupRejection(loadConfig(env), rejection)).toBe(rejection);
  });
});

describe('describeFsError', () => {
  it.each([
    ['ENOENT', '/x does not exist (ENOENT)'],
    ['EISDIR', '/x is a directory (EISDIR)'],
    ['EACCES', '/x is not accessible (permission denied) (EACCES)'],
  ])('%s', (code, text) => {
    expect(describeFsError('/x', Object.assign(new Error('raw'), { code }))).toBe(text);
  });

  it('falls back to the error message', () => {
    expect(describeFsError('/x', new Error('odd'))).toBe('/x: odd');
  });
});
