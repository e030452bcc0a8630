import type { Logger } from '@ecs-ingress/types';
import { NginxConfigUnsupportedError } from './errors.js';
import { failureLinesOf } from './log-lines.js';
import { nginxArgsFor } from './nginx-args.js';
import type { NginxExec } from './nginx-exec.js';
import type { NginxTestResult } from './runner-types.js';

/**
 * `nginx -t` on the files on disk, with the arguments the master runs with. A main config the runner
 * cannot supervise (`daemon on`, `master_process off`) fails like a failed test, without running
 * NGINX; the error lines are NGINX's `[emerg]` lines, or its whole output when it printed none.
 */
export async function testConfig(
  exec: NginxExec,
  binary: string,
  prefix: string,
  configFile: string,
  logger: Logger,
): Promise<NginxTestResult> {
  let args: string[];
  try {
    args = await nginxArgsFor(prefix, configFile);
  } catch (error) {
    // A directive we cannot supervise is a verdict on the config, like a failed `nginx -t`.
    if (!(error instanceof NginxConfigUnsupportedError)) throw error;
    logger.warn({ code: error.code }, error.message);
    return { ok: false, output: error.message, errors: [error.message] };
  }
  const result = await exec.run(binary, ['-t', ...args]);
  const ok = result.exitCode === 0;
  let errors = failureLinesOf(result.output);
  if (!ok && errors.length === 0) errors = result.output.split('\n').filter((l) => l.trim().length > 0);
  if (ok) logger.debug('nginx -t passed');
  else logger.warn({ nginxErrors: errors }, 'nginx -t failed');
  return { ok, output: result.output, errors };
}
