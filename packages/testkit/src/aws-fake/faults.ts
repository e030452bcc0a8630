import { AwsFakeError } from './wire.js';

/** The services the fake speaks. */
export type AwsFakeService = 'ecs' | 'ec2' | 'events';

/**
 * - `throttle`: the service's own throttling error (ECS/EventBridge `ThrottlingException` 400,
 *   EC2 `RequestLimitExceeded` 503), which the SDK retries with backoff.
 * - `server-error`: a 5xx (ECS `ServerException`, EventBridge `InternalException`, EC2 `InternalError`).
 * - `access-denied`: the task role may not make the call (ECS/EventBridge `AccessDeniedException`
 *   400, EC2 `UnauthorizedOperation` 403), which the SDK does not retry.
 * - `delay`: answer normally after `delayMs`.
 */
export type FaultKind = 'throttle' | 'server-error' | 'access-denied' | 'delay';

export interface FaultSpec {
  service: AwsFakeService;
  /** Only this operation; every operation of the service when omitted. */
  operation?: string;
  kind: FaultKind;
  /** How many matching calls it hits; until cleared when omitted. */
  times?: number;
  /** For `delay`; default 1000 ms. */
  delayMs?: number;
}

/** A handle on one injected fault. */
export interface InjectedFault {
  /** Matching calls it has hit so far. */
  readonly hits: number;
  /** Calls it will still hit (`Infinity` when not times-limited). */
  readonly remaining: number;
  clear(): void;
}

interface ActiveFault {
  spec: FaultSpec;
  remaining: number;
  hits: number;
}

export class FaultTable {
  private faults: ActiveFault[] = [];

  inject(spec: FaultSpec): InjectedFault {
    if (spec.times !== undefined && (!Number.isInteger(spec.times) || spec.times < 1)) {
      throw new Error('inject: times must be a positive integer');
    }
    const fault: ActiveFault = { spec, remaining: spec.times ?? Number.POSITIVE_INFINITY, hits: 0 };
    this.faults.push(fault);
    const table = this;
    return {
      get hits() {
        return fault.hits;
      },
      get remaining() {
        return fault.remaining;
      },
      clear() {
        table.faults = table.faults.filter((f) => f !== fault);
      },
    };
  }

  clear(): void {
    this.faults = [];
  }

  /** The first live fault matching a call (in injection order), consumed by one. */
  take(service: AwsFakeService, operation: string): FaultSpec | undefined {
    const fault = this.faults.find(
      (f) =>
        f.remaining > 0 &&
        f.spec.service === service &&
        (f.spec.operation === undefined || f.spec.operation === operation),
    );
    if (!fault) return undefined;
    fault.remaining -= 1;
    fault.hits += 1;
    if (fault.remaining <= 0) this.faults = this.faults.filter((f) => f !== fault);
    return fault.spec;
  }
}

/** The error a `throttle`, `server-error` or `access-denied` fault makes the given service answer with. */
export function faultError(service: AwsFakeService, kind: Exclude<FaultKind, 'delay'>): AwsFakeError {
  if (kind === 'access-denied') {
    return service === 'ec2'
      ? new AwsFakeError('UnauthorizedOperation', 'You are not authorized to perform this operation.', 403)
      : new AwsFakeError(
          'AccessDeniedException',
          'User: arn:aws:sts::123456789012:assumed-role/ecs-ingress/task is not authorized to perform this action',
          400,
        );
  }
  if (kind === 'throttle') {
    // EC2 throttles with RequestLimitExceeded on HTTP 503; ECS and EventBridge with ThrottlingException on 400.
    return service === 'ec2'
      ? new AwsFakeError('RequestLimitExceeded', 'Request limit exceeded.', 503)
      : new AwsFakeError('ThrottlingException', 'Rate exceeded', 400);
  }
  switch (service) {
    case 'ec2':
      return new AwsFakeError('InternalError', 'An internal error has occurred', 500);
    case 'events':
      return new AwsFakeError('InternalException', 'An internal error occurred.', 500);
    default:
      return new AwsFakeError('ServerException', 'Service Unavailable. Please try again later.', 500);
  }
}
