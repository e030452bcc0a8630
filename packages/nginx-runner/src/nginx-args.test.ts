import { describe, expect, it } from 'vitest';
import { NginxConfigUnsupportedError } from './errors.js';
import { inspectMainConfig, nginxArgs } from './nginx-args.js';

describe('inspectMainConfig', () => {
  it.each([
    ['no daemon directive', 'events {}\nhttp {}', false],
    ['daemon off', 'daemon off;\nevents {}', true],
    ['daemon off with spaces', 'worker_processes 1;daemon   off ;', true],
    ['commented out', '# daemon off;\nevents {}', false],
    ['a longer directive name', 'mydaemon off;\nevents {}', false],
  ])('%s', (_name, text, daemonOff) => {
    expect(inspectMainConfig(text)).toEqual({ daemonOff });
  });

  it.each([
    ['daemon on', 'daemon on;'],
    ['master_process off', 'master_process off;'],
  ])('refuses %s', (_name, text) => {
    expect(() => inspectMainConfig(text)).toThrow(NginxConfigUnsupportedError);
  });
});

describe('nginxArgs', () => {
  it('adds -g "daemon off;" only when the config does not say it', () => {
    expect(nginxArgs('/p', '/p/n.conf', { daemonOff: false })).toEqual([
      '-e',
      'stderr',
      '-p',
      '/p',
      '-c',
      '/p/n.conf',
      '-g',
      'daemon off;',
    ]);
    expect(nginxArgs('/p', '/p/n.conf', { daemonOff: true })).toEqual([
      '-e',
      'stderr',
      '-p',
      '/p',
      '-c',
      '/p/n.conf',
    ]);
  });
});
