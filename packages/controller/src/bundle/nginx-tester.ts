import { NginxRunner } from '@ecs-ingress/nginx-runner';
import type { Logger } from '@ecs-ingress/types';
import type { BundleTester } from './bundle-manager.js';

/**
 * A `BundleTester` that runs the real `nginx -t` on a staged main file with the same prefix (and
 * binary) as the running NGINX, through the runner's test() (so the output parsing is the runner's).
 */
export function createNginxTester(options: {
  prefix: string;
  nginxBinary?: string;
  logger?: Logger;
}): BundleTester {
  return (confPath) =>
    new NginxRunner({
      prefix: options.prefix,
      configFile: confPath,
      ...(options.nginxBinary !== undefined ? { nginxBinary: options.nginxBinary } : {}),
      ...(options.logger !== undefined ? { logger: options.logger } : {}),
    }).test();
}
