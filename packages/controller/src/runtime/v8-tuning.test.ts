import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '@ecs-ingress/types';
import { describe, expect, it } from 'vitest';
import { DEFAULT_V8_FLAGS, V8_FLAGS_VARIABLE, v8FlagsFromEnv } from './v8-tuning.js';

describe('v8FlagsFromEnv', () => {
  it.each([
    ['unset', undefined, DEFAULT_V8_FLAGS],
    ['blank', '   ', DEFAULT_V8_FLAGS],
    ['none', 'none', []],
    ['one flag', '--max-old-space-size=200', ['--max-old-space-size=200']],
    [
      'several, any spacing',
      ' --no-allocation-site-pretenuring   --heap-growing-percent=30 ',
      ['--no-allocation-site-pretenuring', '--heap-growing-percent=30'],
    ],
  ])('%s → the flags to apply', (_name, value, expected) => {
    const env = value === undefined ? {} : { [V8_FLAGS_VARIABLE]: value };
    expect(v8FlagsFromEnv(env)).toEqual(expected);
  });

  it.each([
    ['no dashes', 'max-old-space-size=200'],
    ['shell injection', '--heap-growing-percent=50;rm'],
    ['a second word in a value', '--stack-trace-limit=10 x'],
    ['single dash', '-e'],
  ])('rejects %s with an error naming the variable and the token', (_name, value) => {
    const error = (() => {
      try {
        v8FlagsFromEnv({ [V8_FLAGS_VARIABLE]: value });
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).variable).toBe(V8_FLAGS_VARIABLE);
    expect((error as ConfigError).message).toMatch(/is not a V8 flag/);
  });

  it.each([
    ['the defaults', DEFAULT_V8_FLAGS, ''],
    ['a flag V8 lacks (control)', ['--no-such-v8-flag'], 'unrecognized flag'],
  ])('%s: V8 accepts them at run time', (_name, flags, stderr) => {
    // In a child process: flags set here would change this test worker's V8 for good. V8 says
    // "unrecognized flag" on stderr for a flag it lacks (a newer node dropping one shows here).
    const script = `for (const f of ${JSON.stringify(flags)}) require('node:v8').setFlagsFromString(f);`;
    const result = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
    expect(result.status).toBe(0);
    if (stderr === '') expect(result.stderr).toBe('');
    else expect(result.stderr).toContain(stderr);
  });

  it.each([
    [
      'a bad value: exit 2 before any command runs',
      'not-a-flag',
      2,
      /ECS_INGRESS_V8_FLAGS: "not-a-flag" is not a V8 flag/,
    ],
    ['the defaults: the command runs', undefined, 0, /^$/],
    // Well-formed but unknown to V8: V8 itself complains, which shows the CLI handed it over.
    ['a flag V8 lacks: applied, V8 says so', '--no-such-v8-flag', 0, /unrecognized flag --no-such-v8-flag/],
  ])('the CLI with %s', (_name, value, status, stderr) => {
    const cli = fileURLToPath(new URL('../cli/main.ts', import.meta.url));
    const env: NodeJS.ProcessEnv = { ...process.env };
    if (value === undefined) delete env[V8_FLAGS_VARIABLE];
    else env[V8_FLAGS_VARIABLE] = value;
    const result = spawnSync(
      process.execPath,
      ['--conditions=source', '--import', 'tsx', cli, 'replay', '--help'],
      {
        encoding: 'utf8',
        env,
      },
    );
    expect(result.status).toBe(status);
    expect(result.stderr).toMatch(stderr);
    if (status === 0) expect(result.stdout).toContain('Usage: ecs-ingress replay');
  });
});
