import { DescribeInstancesCommand, EC2Client, EC2ServiceException } from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type AwsFake, startAwsFake } from './server.js';

let fake: AwsFake;
let ec2: EC2Client;

beforeAll(async () => {
  fake = await startAwsFake();
  ec2 = new EC2Client({ ...fake.clientConfig(), maxAttempts: 1 });
});
afterAll(async () => {
  ec2.destroy();
  await fake.close();
});
beforeEach(() => {
  fake.ec2.instances.clear();
  fake.resetCalls();
});

describe('EC2 fake through the real EC2Client (query protocol, XML)', () => {
  it('DescribeInstances by id returns reservations with the private IPs', async () => {
    fake.ec2.putInstance('i-0aaa', '10.0.0.11');
    fake.ec2.putInstance('i-0bbb', '10.0.0.12');
    fake.ec2.putInstance('i-0ccc', '10.0.0.13');
    const out = await ec2.send(new DescribeInstancesCommand({ InstanceIds: ['i-0aaa', 'i-0ccc'] }));
    const instances = out.Reservations?.flatMap((r) => r.Instances ?? []) ?? [];
    expect(instances.map((i) => [i.InstanceId, i.PrivateIpAddress])).toEqual([
      ['i-0aaa', '10.0.0.11'],
      ['i-0ccc', '10.0.0.13'],
    ]);
    expect(instances[0]?.State).toEqual({ Code: 16, Name: 'running' });
    expect(fake.requests('ec2', 'DescribeInstances')[0]?.input).toMatchObject({
      Version: '2016-11-15',
      'InstanceId.1': 'i-0aaa',
      'InstanceId.2': 'i-0ccc',
    });
  });

  it('DescribeInstances without ids lists every instance', async () => {
    fake.ec2.putInstance('i-01', '10.0.0.1');
    fake.ec2.putInstance('i-02', '10.0.0.2');
    const out = await ec2.send(new DescribeInstancesCommand({}));
    expect(out.Reservations).toHaveLength(2);
  });

  it.each([
    [['i-0dead'], 'InvalidInstanceID.NotFound', "The instance ID 'i-0dead' does not exist"],
    [['bogus'], 'InvalidInstanceID.Malformed', 'Invalid id'],
  ])('DescribeInstances %j fails with %s', async (ids, code, message) => {
    fake.ec2.putInstance('i-0aaa', '10.0.0.11');
    const err = await ec2.send(new DescribeInstancesCommand({ InstanceIds: ['i-0aaa', ...ids] })).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(EC2ServiceException);
    expect((err as EC2ServiceException).name).toBe(code);
    expect((err as EC2ServiceException).message).toContain(message);
    expect((err as EC2ServiceException).$metadata.httpStatusCode).toBe(400);
  });
});
