import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { Ec2Fake } from './ec2-fake.js';
import { ECS_TARGET_PREFIX, EcsFake } from './ecs-fake.js';
import { EVENTS_TARGET_PREFIX, EventsFake } from './events-fake.js';
import { type AwsFakeService, type FaultSpec, FaultTable, faultError, type InjectedFault } from './faults.js';
import { type AwsFakeIdentity, DEFAULT_IDENTITY } from './identity.js';
import {
  AwsFakeError,
  FAKE_CREDENTIALS,
  listenOnLoopback,
  readBody,
  sendEc2Error,
  sendJson,
  sendJsonError,
  sendXml,
} from './wire.js';

export interface AwsFakeOptions {
  region?: string;
  accountId?: string;
}

/** One request the fake received, faulted or not. */
export interface RecordedCall {
  service: AwsFakeService | 'unknown';
  operation: string;
  /** The decoded request: JSON members, or EC2's form fields. */
  input: Record<string, unknown>;
  /** The fault injected into this call, if any. */
  fault?: FaultSpec['kind'];
}

/** What an SDK client needs to talk to the fake (spread into `new ECSClient({...})`). */
export interface AwsFakeClientConfig {
  endpoint: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
}

export interface AwsFake {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  readonly identity: AwsFakeIdentity;
  readonly ecs: EcsFake;
  readonly ec2: Ec2Fake;
  readonly events: EventsFake;
  /** Endpoint, region and static fake credentials for the SDK clients. */
  clientConfig(): AwsFakeClientConfig;
  /** Calls received for a service (and operation), faulted ones included. */
  calls(service: AwsFakeService, operation?: string): number;
  /** Calls by `service:Operation`, e.g. `{ 'ecs:DescribeTasks': 3 }`. */
  callCounts(): Record<string, number>;
  /** The recorded requests, optionally filtered. */
  requests(service?: AwsFakeService, operation?: string): readonly RecordedCall[];
  resetCalls(): void;
  inject(spec: FaultSpec): InjectedFault;
  clearFaults(): void;
  close(): Promise<void>;
}

/** Starts the fake ECS/EC2/EventBridge endpoint on 127.0.0.1 with an ephemeral port. */
export async function startAwsFake(options: AwsFakeOptions = {}): Promise<AwsFake> {
  const identity: AwsFakeIdentity = {
    region: options.region ?? DEFAULT_IDENTITY.region,
    accountId: options.accountId ?? DEFAULT_IDENTITY.accountId,
  };
  const ecs = new EcsFake(identity);
  const ec2 = new Ec2Fake(identity);
  const events = new EventsFake(identity);
  const faults = new FaultTable();
  let recorded: RecordedCall[] = [];
  const timers = new Set<NodeJS.Timeout>();

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        timers.delete(t);
        resolve();
      }, ms);
      timers.add(t);
    });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    const target = req.headers['x-amz-target'];
    if (typeof target === 'string') {
      const [service, prefix] = target.startsWith(ECS_TARGET_PREFIX)
        ? (['ecs', ECS_TARGET_PREFIX] as const)
        : target.startsWith(EVENTS_TARGET_PREFIX)
          ? (['events', EVENTS_TARGET_PREFIX] as const)
          : (['unknown', ''] as const);
      const operation = target.slice(prefix.length);
      let input: Record<string, unknown> = {};
      try {
        const parsed: unknown = body === '' ? {} : JSON.parse(body);
        if (parsed !== null && typeof parsed === 'object') input = parsed as Record<string, unknown>;
      } catch {
        recorded.push({ service, operation, input });
        return sendJsonError(res, new AwsFakeError('SerializationException', 'request body is not JSON'));
      }
      const call: RecordedCall = { service, operation, input };
      recorded.push(call);
      if (service === 'unknown') {
        return sendJsonError(res, new AwsFakeError('UnknownOperationException', `unknown target ${target}`));
      }
      try {
        await applyFault(call, service, operation);
        const model = service === 'ecs' ? ecs : events;
        return sendJson(res, 200, model.handle(operation, input));
      } catch (err) {
        return sendJsonError(res, asFakeError(err));
      }
    }

    // EC2 speaks the query protocol: a form body naming Action and Version, XML back.
    const params = new URLSearchParams(body);
    const operation = params.get('Action') ?? 'unknown';
    const call: RecordedCall = { service: 'ec2', operation, input: Object.fromEntries(params) };
    recorded.push(call);
    try {
      await applyFault(call, 'ec2', operation);
      return sendXml(res, 200, ec2.handle(operation, params));
    } catch (err) {
      return sendEc2Error(res, asFakeError(err));
    }
  }

  async function applyFault(call: RecordedCall, service: AwsFakeService, operation: string): Promise<void> {
    const fault = faults.take(service, operation);
    if (!fault) return;
    call.fault = fault.kind;
    if (fault.kind === 'delay') await sleep(fault.delayMs ?? 1000);
    else throw faultError(service, fault.kind);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      // A bug in the fake must surface as a 500, not a hung request.
      if (!res.headersSent) sendJsonError(res, new AwsFakeError('InternalFailure', String(err), 500));
    });
  });
  const { port, url } = await listenOnLoopback(server);

  return {
    url,
    port,
    identity,
    ecs,
    ec2,
    events,
    clientConfig: () => ({
      endpoint: url,
      region: identity.region,
      credentials: { ...FAKE_CREDENTIALS },
    }),
    calls: (service, operation) =>
      recorded.filter((c) => c.service === service && (operation === undefined || c.operation === operation))
        .length,
    callCounts: () => {
      const counts: Record<string, number> = {};
      for (const c of recorded) {
        const key = `${c.service}:${c.operation}`;
        counts[key] = (counts[key] ?? 0) + 1;
      }
      return counts;
    },
    requests: (service, operation) =>
      recorded.filter(
        (c) =>
          (service === undefined || c.service === service) &&
          (operation === undefined || c.operation === operation),
      ),
    resetCalls: () => {
      recorded = [];
    },
    inject: (spec) => faults.inject(spec),
    clearFaults: () => faults.clear(),
    close: async () => {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function asFakeError(err: unknown): AwsFakeError {
  if (err instanceof AwsFakeError) return err;
  return new AwsFakeError('InternalFailure', err instanceof Error ? err.message : String(err), 500);
}
