/**
 * A throw-away NGINX prefix on loopback for the runner's integration tests. Nothing here touches
 * /etc/nginx or a fixed port.
 */
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nginxTestConf } from './nginx-conf.js';

export interface NginxPrefix {
  dir: string;
  configFile: string;
  /** Writes the main config from the `http {}` body (and extra main-context text). */
  writeConfig(httpBody: string, mainExtra?: string): Promise<void>;
  cleanup(): Promise<void>;
}

/** The prefix's nginx.conf around `httpBody` (temp paths under `tmp/`, logs to stderr). */
export function mainConfig(httpBody: string, mainExtra?: string): string {
  return nginxTestConf({ tempDir: 'tmp', main: mainExtra === undefined ? [] : [mainExtra], http: httpBody });
}

export async function makePrefix(): Promise<NginxPrefix> {
  const dir = await mkdtemp(join(tmpdir(), 'ecs-ingress-nginx-'));
  // Workers drop root privileges (to `nobody`) when the tests run as root; let them traverse.
  await chmod(dir, 0o755);
  await mkdir(join(dir, 'tmp'), { recursive: true });
  const configFile = join(dir, 'nginx.conf');
  return {
    dir,
    configFile,
    writeConfig: (httpBody, mainExtra) => writeFile(configFile, mainConfig(httpBody, mainExtra)),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}
