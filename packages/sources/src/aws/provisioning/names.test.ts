import { ConfigError } from '@ecs-ingress/types';
import { describe, expect, it } from 'vitest';
import { instanceResourceName, MAX_NAME_LENGTH, shortInstanceId } from './names.js';

const VALID = /^[A-Za-z0-9_-]+$/;

describe('instanceResourceName', () => {
  it.each([
    ['ecs-ingress-', 'prod', 'abc123', 'ecs-ingress-prod-abc123'],
    [
      'ecs-ingress-',
      'prod',
      'arn:aws:ecs:us-east-1:123456789012:container-instance/prod/0123456789abcdef0123456789abcdef',
      'ecs-ingress-prod-0123456789abcdef0123456789abcdef',
    ],
    ['x-', 'my.cluster', 'ip-10-0-0-1.ec2.internal', 'x-my-cluster-ip-10-0-0-1-ec2-internal'],
  ])('%s + %s + %s → %s', (prefix, cluster, instance, expected) => {
    expect(instanceResourceName(prefix, cluster, instance)).toBe(expected);
  });

  it.each([
    ['a very long cluster name', 'c'.repeat(200), 'i-0123456789abcdef0'],
    ['a long instance id', 'prod', 'h'.repeat(120)],
    ['both long, odd characters', 'clüster/with spaces'.repeat(10), 'host.example.com'.repeat(10)],
  ])('%s → at most 64 characters of [A-Za-z0-9_-], prefix kept', (_label, cluster, instance) => {
    const name = instanceResourceName('ecs-ingress-', cluster, instance);
    expect(name.length).toBeLessThanOrEqual(MAX_NAME_LENGTH);
    expect(name).toMatch(VALID);
    expect(name.startsWith('ecs-ingress-')).toBe(true);
  });

  it('long names that share their first 64 characters still differ', () => {
    const cluster = 'c'.repeat(100);
    const a = instanceResourceName('ecs-ingress-', cluster, 'instance-a');
    const b = instanceResourceName('ecs-ingress-', cluster, 'instance-b');
    expect(a).not.toBe(b);
    expect(instanceResourceName('ecs-ingress-', cluster, 'instance-a')).toBe(a);
  });

  it.each(['', 'has space', 'dots.not.allowed', 'p'.repeat(33)])('prefix %j is refused', (prefix) => {
    expect(() => instanceResourceName(prefix, 'prod', 'i-1')).toThrow(ConfigError);
  });

  it('shortInstanceId keeps non-ARNs as they are', () => {
    expect(shortInstanceId('i-0abc')).toBe('i-0abc');
    expect(shortInstanceId('arn:aws:ecs:us-east-1:1:container-instance/c/abc')).toBe('abc');
  });
});
