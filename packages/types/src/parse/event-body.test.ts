import { fixtureJson, fixtureText } from '@ecs-ingress/testkit';
import { describe, expect, it } from 'vitest';
import type { ClusterEvent, TaskObservedEvent } from '../domain.js';
import { EventParseError } from '../errors.js';
import { parseEventBody, parseEventObject } from './event-body.js';

function reasonOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    if (e instanceof EventParseError) {
      expect(e.code).toBe('ECS_INGRESS_EVENT_INVALID');
      expect(e.message.length).toBeGreaterThan(0);
      return e.reason;
    }
    throw e;
  }
  return undefined;
}

function onlyTask(events: ClusterEvent[]): TaskObservedEvent {
  expect(events).toHaveLength(1);
  const event = events[0];
  if (event?.kind !== 'task') throw new Error(`expected a task event, got ${event?.kind}`);
  return event;
}

describe('parseEventBody: ECS task state change fixtures', () => {
  it.each([
    [
      'task-fargate-awsvpc.json',
      '2020-01-23T17:57:58Z',
      'arn:aws:ecs:us-west-2:111122223333:cluster/FargateCluster',
      4,
    ],
    ['task-ec2-bridge.json', '2024-03-05T10:15:42Z', 'arn:aws:ecs:us-east-1:111122223333:cluster/prod', 3],
    ['task-ec2-host.json', '2024-03-05T10:20:07Z', 'arn:aws:ecs:us-east-1:111122223333:cluster/prod', 2],
    [
      'task-multi-container-attachments.json',
      '2024-11-13T21:23:11Z',
      'arn:aws:ecs:us-east-1:123456789012:cluster/Example',
      4,
    ],
    [
      'task-fargate-spot-interrupted.json',
      '2024-06-02T08:41:09Z',
      'arn:aws:ecs:us-west-2:111122223333:cluster/FargateCluster',
      5,
    ],
  ])('%s → a task observed at the envelope time', (name, time, clusterArn, version) => {
    const text = fixtureText(`events/${name}`);
    const parsed = parseEventBody(text);
    const envelopeId = (JSON.parse(text) as { id: string }).id;
    expect(parsed).toMatchObject({
      source: 'aws.ecs',
      detailType: 'ECS Task State Change',
      time: Date.parse(time),
      clusterArn,
      id: envelopeId,
    });
    expect(parsed).not.toHaveProperty('sns');
    const event = onlyTask(parsed.events);
    expect(event.eventId).toBe(envelopeId);
    expect(event.task).toMatchObject({ source: 'event', observedAt: Date.parse(time), version, clusterArn });
  });

  it('the Fargate event matches the documented shape field by field', () => {
    const { task } = onlyTask(parseEventBody(fixtureText('events/task-fargate-awsvpc.json')).events);
    expect(task).toEqual({
      taskArn: 'arn:aws:ecs:us-west-2:111122223333:task/FargateCluster/c13b4cb40f1f4fe4a2971f76ae5a47ad',
      clusterArn: 'arn:aws:ecs:us-west-2:111122223333:cluster/FargateCluster',
      taskDefinitionArn: 'arn:aws:ecs:us-west-2:111122223333:task-definition/sample-fargate:1',
      group: 'service:sample-fargate',
      serviceName: 'sample-fargate',
      lastStatus: 'RUNNING',
      desiredStatus: 'RUNNING',
      version: 4,
      launchType: 'FARGATE',
      eniPrivateIpv4Address: '192.0.2.139',
      containers: [
        { name: 'FargateApp', lastStatus: 'RUNNING', networkBindings: [], privateIpv4Address: '192.0.2.139' },
      ],
      updatedAt: Date.parse('2020-01-23T17:57:58.103Z'),
      createdAt: Date.parse('2020-01-23T17:57:34.402Z'),
      observedAt: Date.parse('2020-01-23T17:57:58Z'),
      source: 'event',
    });
  });
});

describe('parseEventBody: SNS notifications', () => {
  it('unwraps a Notification to the same events, with the SNS ids', () => {
    const direct = parseEventBody(fixtureText('events/task-fargate-awsvpc.json'));
    const wrapped = parseEventBody(fixtureText('events/sns-task-state-change.json'));
    expect(wrapped.events).toEqual(direct.events);
    expect(wrapped).toMatchObject({
      source: 'aws.ecs',
      detailType: 'ECS Task State Change',
      sns: {
        messageId: '22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324',
        topicArn: 'arn:aws:sns:us-west-2:111122223333:ecs-task-events',
      },
    });
  });

  it('ignores a SubscriptionConfirmation', () => {
    const parsed = parseEventObject({
      Type: 'SubscriptionConfirmation',
      MessageId: 'm1',
      Message: 'You have chosen…',
    });
    expect(parsed.events).toEqual([
      { kind: 'ignored', detailType: 'SNS SubscriptionConfirmation', reason: 'sns-not-a-notification' },
    ]);
  });
});

describe('parseEventBody: recognised and ignored', () => {
  it.each([
    ['service-action.json', 'ECS Service Action', 'arn:aws:ecs:us-west-2:111122223333:cluster/default'],
    ['deployment-state-change.json', 'ECS Deployment State Change', undefined],
    [
      'container-instance-state-change.json',
      'ECS Container Instance State Change',
      'arn:aws:ecs:us-east-1:111122223333:cluster/default',
    ],
  ])('%s → ignored, not an error', (name, detailType, clusterArn) => {
    const text = fixtureText(`events/${name}`);
    const time = Date.parse((JSON.parse(text) as { time: string }).time);
    const parsed = parseEventBody(text);
    expect(parsed.events).toEqual([
      { kind: 'ignored', detailType, reason: 'detail-type-not-handled', observedAt: time },
    ]);
    expect(parsed.clusterArn).toBe(clusterArn);
  });

  it('another source is ignored', () => {
    const parsed = parseEventObject({
      source: 'aws.ec2',
      'detail-type': 'EC2 Instance State-change Notification',
      time: '2024-01-01T00:00:00Z',
      detail: { 'instance-id': 'i-1', state: 'running' },
    });
    expect(parsed.events).toEqual([
      {
        kind: 'ignored',
        detailType: 'EC2 Instance State-change Notification',
        reason: 'source-not-handled',
        observedAt: Date.UTC(2024, 0, 1),
      },
    ]);
  });
});

describe('parseEventBody: junk', () => {
  const event = () => fixtureJson('events/task-fargate-awsvpc.json');
  const withDetail = (patch: Record<string, unknown>) => {
    const e = event();
    e.detail = { ...(e.detail as Record<string, unknown>), ...patch };
    return JSON.stringify(e);
  };
  const sns = (message: string) => JSON.stringify({ Type: 'Notification', MessageId: 'm', Message: message });

  it.each([
    ['not JSON', '{"source": "aws.ecs",', 'not-json'],
    ['empty', '', 'not-json'],
    ['JSON array', '[]', 'not-an-object'],
    ['JSON number', '42', 'not-an-object'],
    ['JSON string', '"hello"', 'not-an-object'],
    ['JSON null', 'null', 'not-an-object'],
    ['missing source', JSON.stringify({ ...event(), source: undefined }), 'missing-field:source'],
    [
      'missing detail-type',
      JSON.stringify({ ...event(), 'detail-type': undefined }),
      'missing-field:detail-type',
    ],
    ['missing detail', JSON.stringify({ ...event(), detail: undefined }), 'missing-field:detail'],
    ['detail is a string', JSON.stringify({ ...event(), detail: 'x' }), 'not-an-object:detail'],
    ['bad time', JSON.stringify({ ...event(), time: 'soon' }), 'bad-timestamp:time'],
    ['task event without time', JSON.stringify({ ...event(), time: undefined }), 'missing-field:time'],
    ['bad version', withDetail({ version: 'four' }), 'invalid-field:detail.version'],
    ['negative version', withDetail({ version: -4 }), 'invalid-field:detail.version'],
    ['missing taskArn', withDetail({ taskArn: undefined }), 'missing-field:detail.taskArn'],
    ['bad updatedAt', withDetail({ updatedAt: 'Tuesday' }), 'bad-timestamp:detail.updatedAt'],
    ['SNS with non-JSON Message', sns('not json'), 'not-json:Message'],
    ['SNS with a non-object Message', sns('[1,2]'), 'not-an-object:Message'],
    [
      'SNS without Message',
      JSON.stringify({ Type: 'Notification', MessageId: 'm' }),
      'missing-field:Message',
    ],
    ['SNS wrapping SNS', sns(sns('{}')), 'nested-sns'],
    ['SNS wrapping a broken event', sns(JSON.stringify({ ...event(), time: 'never' })), 'bad-timestamp:time'],
    [
      'unknown observation detail-type',
      JSON.stringify({ source: 'ecs-ingress', 'detail-type': 'Task Guessed', detail: {} }),
      'unknown-observation-type',
    ],
  ])('%s → %s', (_label, text, reason) => {
    expect(reasonOf(() => parseEventBody(text))).toBe(reason);
  });

  it('accepts unknown envelope and detail fields', () => {
    const e = event();
    e['new-envelope-field'] = { x: 1 };
    (e.detail as Record<string, unknown>).capacityProviderName = 'FARGATE';
    (e.detail as Record<string, unknown>).somethingAwsAddsIn2030 = [{ deep: true }];
    expect(onlyTask(parseEventObject(e).events).task.version).toBe(4);
  });
});
