import { describe, expect, it } from 'vitest';
import { userCwd } from './user-cwd.js';

describe('userCwd', () => {
  it.each([
    [
      'pnpm ecs-ingress from a sub-directory',
      { INIT_CWD: '/home/u/incident', npm_lifecycle_event: 'ecs-ingress' },
      '/home/u/incident',
    ],
    ['run directly (no package manager)', {}, '/repo'],
    [
      'a stale INIT_CWD from another script',
      { INIT_CWD: '/elsewhere', npm_lifecycle_event: 'test' },
      '/repo',
    ],
    ['an empty INIT_CWD', { INIT_CWD: '', npm_lifecycle_event: 'ecs-ingress' }, '/repo'],
  ])('%s', (_label, env, expected) => {
    expect(userCwd(env, '/repo')).toBe(expected);
  });
});
