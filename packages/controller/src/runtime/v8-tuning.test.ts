import { spawnSync } from 'node:child_process';
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
});
