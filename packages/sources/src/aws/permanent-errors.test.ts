import { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { ECSClient, ListTasksCommand } from '@aws-sdk/client-ecs';
import { type AwsFake, startAwsFake } from '@ecs-ingress/testkit/aws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterNotFoundError } from '../ecs-poller.js';
import { AWS_CALL_ERROR_CODES, AwsCallError, awsCall } from './aws-call-error.js';
import { classifyAwsProblem } from './permanent-errors.js';

/** An SDK-shaped error (name + HTTP status), as the SDK builds them from an answer. */
function sdkError(name: string, status: number, message = `${name} message`): Error {
  return Object.assign(new Error(message), { name, $metadata: { httpStatusCode: status } });
}

describe('classifyAwsProblem', () => {
  it.each([
    ['CredentialsProviderError', 0, 'no-credentials', 'ECS_INGRESS_AWS_NO_CREDENTIALS', 'taskRoleArn'],
    [
      'UnrecognizedClientException',
      400,
      'invalid-credentials',
      'ECS_INGRESS_AWS_INVALID_CREDENTIALS',
      'AWS_REGION',
    ],
    ['AuthFailure', 401, 'invalid-credentials', 'ECS_INGRESS_AWS_INVALID_CREDENTIALS', 'taskRoleArn'],
    [
      'ClusterNotFoundException',
      400,
      'cluster-not-found',
      'ECS_INGRESS_CLUSTER_NOT_FOUND',
      'AWS_CLUSTER_NAME',
    ],
    [
      'AccessDeniedException',
      400,
      'access-denied',
      'ECS_INGRESS_AWS_ACCESS_DENIED',
      'deploy/ecs/iam-task-role-policy.json',
    ],
    ['UnauthorizedOperation', 403, 'access-denied', 'ECS_INGRESS_AWS_ACCESS_DENIED', 'deploy/ecs/'],
  ])('%s (wrapped by awsCall) → %s with a hint naming %s', (name, status, reason, code, hint) => {
    const wrapped = new AwsCallError('ecs', 'ListTasks', sdkError(name, status));
    const problem = classifyAwsProblem(wrapped);
    expect(problem).toMatchObject({ reason, code });
    expect(problem?.hint).toContain(hint);
    // The SDK's message appears once, with the operation.
    expect(problem?.message).toBe(`ecs:ListTasks failed (${name}): ${name} message`);
  });

  it('the poller’s own ClusterNotFoundError is cluster-not-found', () => {
    expect(classifyAwsProblem(new ClusterNotFoundError('prod'))?.reason).toBe('cluster-not-found');
  });

  it.each([
    ['throttling', sdkError('ThrottlingException', 400)],
    ['a 5xx', sdkError('ServerException', 500)],
    ['a connection failure', Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })],
    ['a bad request', sdkError('InvalidParameterException', 400)],
    ['not an error', 'boom'],
  ])('%s is not permanent', (_name, err) => {
    expect(classifyAwsProblem(new AwsCallError('ecs', 'ListTasks', err))).toBeUndefined();
  });
});

describe('classifyAwsProblem on real SDK errors from the wire fake', () => {
  let fake: AwsFake;
  beforeAll(async () => {
    fake = await startAwsFake();
  });
  afterAll(async () => {
    await fake.close();
  });

  it('ECS AccessDeniedException and EC2 UnauthorizedOperation → access-denied; unknown cluster → cluster-not-found', async () => {
    const ecs = new ECSClient({ ...fake.clientConfig(), maxAttempts: 1 });
    const ec2 = new EC2Client({ ...fake.clientConfig(), maxAttempts: 1 });
    try {
      fake.inject({ service: 'ecs', operation: 'ListTasks', kind: 'access-denied', times: 1 });
      fake.ecs.addCluster('prod');
      const denied = await awsCall('ecs', 'ListTasks', () =>
        ecs.send(new ListTasksCommand({ cluster: 'prod' })),
      ).catch((e: unknown) => e);
      expect(denied).toMatchObject({ code: AWS_CALL_ERROR_CODES.rejected });
      expect(classifyAwsProblem(denied)?.reason).toBe('access-denied');

      fake.inject({ service: 'ec2', kind: 'access-denied', times: 1 });
      const ec2Denied = await awsCall('ec2', 'DescribeInstances', () =>
        ec2.send(new DescribeInstancesCommand({ InstanceIds: ['i-0123456789abcdef0'] })),
      ).catch((e: unknown) => e);
      expect(classifyAwsProblem(ec2Denied)?.reason).toBe('access-denied');

      const missing = await awsCall('ecs', 'ListTasks', () =>
        ecs.send(new ListTasksCommand({ cluster: 'nowhere' })),
      ).catch((e: unknown) => e);
      expect(classifyAwsProblem(missing)?.reason).toBe('cluster-not-found');
    } finally {
      ecs.destroy();
      ec2.destroy();
    }
  });
});
