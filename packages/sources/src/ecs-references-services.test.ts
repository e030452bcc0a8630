/**
 * Service seniority through the real SDK against the wire fake: DescribeServices 10 a call, only
 * for the services asked for; a service ECS does not know waits in the negative cache; throttling
 * fails the round and backs off; each answer goes into the store (and recordings) once.
 */
import { parseObservation } from '@ecs-ingress/types';
import { describe, expect, it } from 'vitest';
import { RecordingSink, recordObservations, useResolverFake } from '../test/helpers.js';
import { CallTally } from './aws-batches.js';

const ctx = useResolverFake();

const created = (i: number) => new Date(Date.UTC(2024, 0, 1 + i));

describe('EcsReferenceResolver.resolveServices', () => {
  it('describes 23 services in 3 DescribeServices calls (10 a call) and emits each createdAt once', async () => {
    const names = Array.from({ length: 23 }, (_, i) => `svc-${String(i).padStart(2, '0')}`);
    for (const [i, name] of names.entries())
      ctx.fake.ecs.putService(name, { cluster: 'prod', createdAt: created(i) });
    ctx.fake.ecs.putService('unexposed', { cluster: 'prod' });
    const sink = new RecordingSink();
    const { hook, seen } = recordObservations();
    const r = ctx.resolver(sink, { observe: hook });
    const tally = new CallTally();
    expect(await r.resolveServices(names, tally)).toBe(23);
    expect(tally.toRecord()).toEqual({ 'ecs:DescribeServices': 3 });
    const asked = ctx.fake
      .requests('ecs', 'DescribeServices')
      .map((c) => (c.input.services as string[]).length);
    expect(asked).toEqual([10, 10, 3]);
    // Only what was asked for: the unexposed service is never described.
    expect(
      ctx.fake.requests('ecs', 'DescribeServices').flatMap((c) => c.input.services as string[]),
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
    expect(replayed.event).toEqual({ kind: 'service', service: svc7?.service, observedAt: ctx.clock });
  });

  it('joins a lookup under way (single flight)', async () => {
    ctx.fake.ecs.putService('web', { cluster: 'prod', createdAt: created(1) });
    ctx.fake.inject({ service: 'ecs', operation: 'DescribeServices', kind: 'delay', delayMs: 80 });
    const r = ctx.resolver();
    await Promise.all([
      r.resolveServices(['web'], new CallTally()),
      r.resolveServices(['web', 'web'], new CallTally()),
    ]);
    expect(ctx.fake.calls('ecs', 'DescribeServices')).toBe(1);
  });

  it('a service ECS does not know (failures: MISSING) waits in the negative cache; the rest are described', async () => {
    ctx.fake.ecs.putService('web', { cluster: 'prod', createdAt: created(1) });
    const sink = new RecordingSink();
    const r = ctx.resolver(sink);
    expect(await r.resolveServices(['web', 'ghost'], new CallTally())).toBe(1);
    expect(sink.ofKind('service').map((e) => e.service.serviceName)).toEqual(['web']);
    expect(r.nextRetryAt(['ghost'])).toBe(ctx.clock + 60_000);
    expect(await r.resolveServices(['ghost'], new CallTally())).toBe(0);
    expect(ctx.fake.calls('ecs', 'DescribeServices')).toBe(1);
    // Created meanwhile: found once its backoff ends.
    ctx.fake.ecs.putService('ghost', { cluster: 'prod', createdAt: created(2) });
    ctx.clock += 60_001;
    expect(await r.resolveServices(['ghost'], new CallTally())).toBe(1);
  });

  it('throttling fails the round and backs off, then the service is described', async () => {
    ctx.fake.ecs.putService('web', { cluster: 'prod', createdAt: created(1) });
    const sink = new RecordingSink();
    const r = ctx.resolver(sink);
    ctx.fake.inject({ service: 'ecs', operation: 'DescribeServices', kind: 'throttle', times: 1 });
    await expect(r.resolveServices(['web'], new CallTally())).rejects.toMatchObject({
      code: 'ECS_INGRESS_AWS_THROTTLED',
    });
    expect(r.nextRetryAt(['web'])).toBe(ctx.clock + 1_000);
    expect(await r.resolveServices(['web'], new CallTally())).toBe(0);
    expect(ctx.fake.calls('ecs', 'DescribeServices')).toBe(1);
    ctx.clock += 1_001;
    expect(await r.resolveServices(['web'], new CallTally())).toBe(1);
    expect(sink.ofKind('service')).toHaveLength(1);
  });

  it('an aborted round (stop) sends nothing more and emits nothing', async () => {
    ctx.fake.ecs.putService('web', { cluster: 'prod', createdAt: created(1) });
    ctx.fake.inject({ service: 'ecs', operation: 'DescribeServices', kind: 'delay', delayMs: 2_000 });
    const sink = new RecordingSink();
    const abort = new AbortController();
    const round = ctx.resolver(sink).resolveServices(['web'], new CallTally(abort.signal));
    setTimeout(() => abort.abort(), 30);
    await expect(round).rejects.toBeDefined();
    expect(sink.events).toHaveLength(0);
  });
});
