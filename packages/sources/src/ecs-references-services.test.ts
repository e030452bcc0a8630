/**
 * Service seniority through the real SDK against the wire fake: DescribeServices 10 a call, only
 * for the services asked for; a service ECS does not know waits in the negative cache; throttling
 * fails the round and backs off; each answer goes into the store (and recordings) once.
 */
import type { EC2Client } from '@aws-sdk/client-ec2';
import type { ECSClient } from '@aws-sdk/client-ecs';
import { type AwsFake, startAwsFake } from '@ecs-ingress/testkit/aws';
import { parseObservation } from '@ecs-ingress/types';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { fakeClients, RecordingSink, recordObservations } from '../test/helpers.js';
import { CallTally } from './aws-batches.js';
import { EcsReferenceResolver } from './ecs-references.js';

let fake: AwsFake;
let ecs: ECSClient;
let ec2: EC2Client;
let clock: number;

beforeAll(async () => {
  fake = await startAwsFake();
  ({ ecs, ec2 } = fakeClients(fake, 1));
});
afterAll(async () => {
  ecs.destroy();
  ec2.destroy();
  await fake.close();
});
beforeEach(() => {
  fake.ecs.clusters.clear();
  fake.resetCalls();
  fake.clearFaults();
  fake.ecs.addCluster('prod');
  clock = 1_700_000_000_000;
});

function resolver(
  sink = new RecordingSink(),
  extra: Partial<ConstructorParameters<typeof EcsReferenceResolver>[0]> = {},
) {
  return new EcsReferenceResolver({
    ecs,
    ec2,
    cluster: 'prod',
    sink,
    now: () => clock,
    negativeCache: { random: () => 0.5 },
    ...extra,
  });
}

const created = (i: number) => new Date(Date.UTC(2024, 0, 1 + i));

describe('EcsReferenceResolver.resolveServices', () => {
  it('describes 23 services in 3 DescribeServices calls (10 a call) and emits each createdAt once', async () => {
    const names = Array.from({ length: 23 }, (_, i) => `svc-${String(i).padStart(2, '0')}`);
    for (const [i, name] of names.entries())
      fake.ecs.putService(name, { cluster: 'prod', createdAt: created(i) });
    fake.ecs.putService('unexposed', { cluster: 'prod' });
    const sink = new RecordingSink();
    const { hook, seen } = recordObservations();
    const r = resolver(sink, { observe: hook });
    const tally = new CallTally();
    expect(await r.resolveServices(names, tally)).toBe(23);
    expect(tally.toRecord()).toEqual({ 'ecs:DescribeServices': 3 });
    const asked = fake.requests('ecs', 'DescribeServices').map((c) => (c.input.services as string[]).length);
    expect(asked).toEqual([10, 10, 3]);
    // Only what was asked for: the unexposed service is never described.
    expect(
      fake.requests('ecs', 'DescribeServices').flatMap((c) => c.input.services as string[]),
    ).not.toContain('unexposed');
    const events = sink.ofKind('service');
    expect(events).toHaveLength(23);
    const svc7 = events.find((e) => e.service.serviceName === 'svc-07');
    expect(svc7?.service).toMatchObject({
      createdAt: created(7).getTime(),
      clusterArn: expect.stringMatching(/:cluster\/prod$/),
      serviceArn: expect.stringMatching(/:service\/prod\/svc-07$/),
    });
    // The recording's line parses back to the same observation (replay and lint see the same age).
    const line = seen.find(
      (o) => o.kind === 'Service Described' && (o.detail as { serviceName: string }).serviceName === 'svc-07',
    );
    const replayed = parseObservation(
      'Service Described',
      JSON.parse(JSON.stringify(line?.detail)),
      line?.time,
    );
    expect(replayed.event).toEqual({ kind: 'service', service: svc7?.service, observedAt: clock });
  });

  it('joins a lookup under way (single flight)', async () => {
    fake.ecs.putService('web', { cluster: 'prod', createdAt: created(1) });
    fake.inject({ service: 'ecs', operation: 'DescribeServices', kind: 'delay', delayMs: 80 });
    const r = resolver();
    await Promise.all([
      r.resolveServices(['web'], new CallTally()),
      r.resolveServices(['web', 'web'], new CallTally()),
    ]);
    expect(fake.calls('ecs', 'DescribeServices')).toBe(1);
  });

  it('a service ECS does not know (failures: MISSING) waits in the negative cache; the rest are described', async () => {
    fake.ecs.putService('web', { cluster: 'prod', createdAt: created(1) });
    const sink = new RecordingSink();
    const r = resolver(sink);
    expect(await r.resolveServices(['web', 'ghost'], new CallTally())).toBe(1);
    expect(sink.ofKind('service').map((e) => e.service.serviceName)).toEqual(['web']);
    expect(r.nextRetryAt(['ghost'])).toBe(clock + 60_000);
    expect(await r.resolveServices(['ghost'], new CallTally())).toBe(0);
    expect(fake.calls('ecs', 'DescribeServices')).toBe(1);
    // Created meanwhile: found once its backoff ends.
    fake.ecs.putService('ghost', { cluster: 'prod', createdAt: created(2) });
    clock += 60_001;
    expect(await r.resolveServices(['ghost'], new CallTally())).toBe(1);
  });

  it('throttling fails the round and backs off, then the service is described', async () => {
    fake.ecs.putService('web', { cluster: 'prod', createdAt: created(1) });
    const sink = new RecordingSink();
    const r = resolver(sink);
    fake.inject({ service: 'ecs', operation: 'DescribeServices', kind: 'throttle', times: 1 });
    await expect(r.resolveServices(['web'], new CallTally())).rejects.toMatchObject({
      code: 'ECS_INGRESS_AWS_THROTTLED',
    });
    expect(r.nextRetryAt(['web'])).toBe(clock + 1_000);
    expect(await r.resolveServices(['web'], new CallTally())).toBe(0);
    expect(fake.calls('ecs', 'DescribeServices')).toBe(1);
    clock += 1_001;
    expect(await r.resolveServices(['web'], new CallTally())).toBe(1);
    expect(sink.ofKind('service')).toHaveLength(1);
  });

  it('an aborted round (stop) sends nothing more and emits nothing', async () => {
    fake.ecs.putService('web', { cluster: 'prod', createdAt: created(1) });
    fake.inject({ service: 'ecs', operation: 'DescribeServices', kind: 'delay', delayMs: 2_000 });
    const sink = new RecordingSink();
    const abort = new AbortController();
    const round = resolver(sink).resolveServices(['web'], new CallTally(abort.signal));
    setTimeout(() => abort.abort(), 30);
    await expect(round).rejects.toBeDefined();
    expect(sink.events).toHaveLength(0);
  });
});
