import { fixtureJson } from '@ecs-ingress/testkit';
import { describe, expect, it } from 'vitest';
import { EventParseError } from '../errors.js';
import { parseContainerInstance } from './container-instance.js';
import { parseTaskDefinition } from './task-definition.js';

const CI = 'arn:aws:ecs:us-east-1:111122223333:container-instance/prod/025c7e2c5e054a6790a29fc1f0a9b3c4';

function reasonOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    if (e instanceof EventParseError) return e.reason;
    throw e;
  }
  return undefined;
}

describe('parseTaskDefinition', () => {
  it('awsvpc with a health check and docker labels', () => {
    expect(parseTaskDefinition(fixtureJson('api/task-definition-awsvpc-healthcheck.json'))).toEqual({
      taskDefinitionArn: 'arn:aws:ecs:us-east-1:123456789012:task-definition/httpd:4',
      family: 'httpd',
      revision: 4,
      networkMode: 'awsvpc',
      containers: [
        {
          name: 'simple-app',
          portMappings: [{ containerPort: 80, hostPort: 80, protocol: 'tcp' }],
          dockerLabels: { 'ecs-ingress.port': '80', team: 'web' },
          hasHealthCheck: true,
        },
        { name: 'log-router', portMappings: [], dockerLabels: {}, hasHealthCheck: false },
      ],
    });
  });

  it('no networkMode → bridge; hostPort 0 is dynamic; protocol lower-cased; port ranges and ["NONE"] skipped', () => {
    expect(parseTaskDefinition(fixtureJson('api/task-definition-bridge-default.json'))).toEqual({
      taskDefinitionArn: 'arn:aws:ecs:us-east-1:111122223333:task-definition/web:7',
      family: 'web',
      revision: 7,
      networkMode: 'bridge',
      containers: [
        {
          name: 'web',
          portMappings: [
            { containerPort: 80, protocol: 'tcp' },
            { containerPort: 8125, protocol: 'udp' },
          ],
          dockerLabels: {},
          hasHealthCheck: false,
        },
      ],
    });
  });

  it.each([
    [{ command: [] }, false],
    [{ command: ['CMD', 'true'] }, true],
    [{ interval: 5 }, false],
    [null, false],
  ])('healthCheck %j → hasHealthCheck %s', (healthCheck, expected) => {
    const td = fixtureJson('api/task-definition-bridge-default.json');
    td.containerDefinitions = [{ name: 'c', healthCheck }];
    expect(parseTaskDefinition(td).containers[0]?.hasHealthCheck).toBe(expected);
  });

  it.each([
    ['not an object', 7, 'not-an-object'],
    [
      'missing ARN',
      { family: 'f', revision: 1, containerDefinitions: [] },
      'missing-field:taskDefinitionArn',
    ],
    [
      'unknown network mode',
      { taskDefinitionArn: 'a', family: 'f', revision: 1, networkMode: 'nat', containerDefinitions: [] },
      'invalid-field:networkMode',
    ],
    [
      'non-string docker label',
      {
        taskDefinitionArn: 'a',
        family: 'f',
        revision: 1,
        containerDefinitions: [{ name: 'c', dockerLabels: { p: 80 } }],
      },
      'invalid-field:containerDefinitions.0.dockerLabels.p',
    ],
    [
      'missing containerDefinitions',
      { taskDefinitionArn: 'a', family: 'f', revision: 1 },
      'missing-field:containerDefinitions',
    ],
  ])('rejects %s', (_label, input, reason) => {
    expect(reasonOf(() => parseTaskDefinition(input))).toBe(reason);
  });
});

describe('parseContainerInstance', () => {
  it('our shape', () => {
    expect(parseContainerInstance(fixtureJson('api/container-instance.json'))).toEqual({
      containerInstanceArn:
        'arn:aws:ecs:us-east-1:111122223333:container-instance/prod/025c7e2c5e054a6790a29fc1f0a9b3c4',
      ec2InstanceId: 'i-0a1b2c3d4e5f67890',
      privateIpAddress: '192.0.2.103',
    });
  });

  it('trims and drops empty strings; does not judge the IP', () => {
    expect(
      parseContainerInstance({
        containerInstanceArn: CI,
        ec2InstanceId: '  ',
        privateIpAddress: ' 999.1.1.1 ',
      }),
    ).toEqual({
      containerInstanceArn: CI,
      privateIpAddress: '999.1.1.1',
    });
  });

  it.each([
    ['missing ARN', { ec2InstanceId: 'i-1' }, 'missing-field:containerInstanceArn'],
    ['numeric IP', { containerInstanceArn: CI, privateIpAddress: 10 }, 'invalid-field:privateIpAddress'],
    ['array', [], 'not-an-object'],
  ])('rejects %s', (_label, input, reason) => {
    expect(reasonOf(() => parseContainerInstance(input))).toBe(reason);
  });
});
