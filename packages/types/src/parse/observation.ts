/**
 * ecs-ingress observation lines: what the recorder (and the poller) learned from the ECS/EC2 APIs
 * that events do not carry, written into the same JSONL stream as the events, with
 * `"source": "ecs-ingress"`. Five kinds exist (DESIGN.md "Sources → replay"):
 * - `Task Definition`    detail = DescribeTaskDefinition `taskDefinition`
 * - `Container Instance` detail = `{containerInstanceArn, ec2InstanceId, privateIpAddress}`
 * - `Task Described`     detail = a DescribeTasks task (this is how health arrives)
 * - `Cluster Snapshot`   detail = `{clusterArn, startedAt, tasks: [DescribeTasks tasks], services?: [names]}`
 * - `Service Described`  detail = a DescribeServices service (this is how `createdAt`, route seniority, arrives)
 */
import { z } from 'zod';
import type { ClusterEvent, TaskSnapshot } from '../domain.js';
import { EventParseError } from '../errors.js';
import { requireEcsArn } from './arn.js';
import { parseContainerInstanceAt } from './container-instance.js';
import { requireRecord, schemaError } from './schema-error.js';
import { parseServiceAt } from './service.js';
import { parseTaskAt } from './task.js';
import { parseTaskDefinitionAt } from './task-definition.js';
import { readTimestamp, toEpochMs } from './timestamps.js';

/** The envelope `source` of observation lines. */
export const OBSERVATION_SOURCE = 'ecs-ingress';

/** The `detail-type`s an observation line may have. */
export const OBSERVATION_KINDS = [
  'Task Definition',
  'Container Instance',
  'Task Described',
  'Cluster Snapshot',
  'Service Described',
] as const;

/** One of `OBSERVATION_KINDS`. */
export type ObservationKind = (typeof OBSERVATION_KINDS)[number];

const KIND_SET: ReadonlySet<string> = new Set(OBSERVATION_KINDS);

/** True when `detailType` names an observation kind. */
export function isObservationKind(detailType: string): detailType is ObservationKind {
  return KIND_SET.has(detailType);
}

/**
 * One observation as a JSONL line (no trailing newline): `version "0"`, `source "ecs-ingress"`,
 * `detail-type`, `time` (ISO-8601) and `detail`. `Date`s inside `detail` (AWS SDK objects) become
 * ISO strings through `Date.prototype.toJSON`, which `parseEventBody` reads back to the same ms.
 * @param time a `Date` or epoch **milliseconds**
 */
export function formatObservationLine(kind: ObservationKind, detail: unknown, time: Date | number): string {
  if (!isObservationKind(kind)) {
    throw new EventParseError('unknown-observation-type', `not an observation kind: ${String(kind)}`);
  }
  const ms = time instanceof Date ? time.getTime() : time;
  if (!Number.isFinite(ms))
    throw new EventParseError('bad-timestamp:time', `observation time is not a valid time`);
  return JSON.stringify({
    version: '0',
    source: OBSERVATION_SOURCE,
    'detail-type': kind,
    time: new Date(ms).toISOString(),
    detail,
  });
}

/** What an observation line turns into. */
export interface ParsedObservation {
  readonly event: ClusterEvent;
  /** The cluster the observation is about, when it names one. */
  readonly clusterArn?: string;
  /** The observation's time: the envelope `time`, else the fallback used (snapshot `startedAt`, task `updatedAt`). */
  readonly time?: number;
}

const snapshotSchema = z.object({
  clusterArn: z.string().min(1),
  startedAt: z.unknown().optional(),
  tasks: z.array(z.unknown()),
  services: z.array(z.string()).nullish(),
});

/**
 * Parses the detail of an observation line.
 * @param time the envelope `time` in epoch ms, when the line had one
 * @throws EventParseError `unknown-observation-type` for a detail-type that is not one of the five
 */
export function parseObservation(
  detailType: string,
  detail: unknown,
  time: number | undefined,
): ParsedObservation {
  switch (detailType) {
    case 'Task Definition': {
      const taskDefinition = parseTaskDefinitionAt(detail, 'detail');
      // Without a time the registration time will do; a task definition never changes, so the
      // time only matters for logs.
      const at = time ?? toEpochMs((detail as Record<string, unknown>).registeredAt) ?? 0;
      return withTime({ event: { kind: 'task-definition', taskDefinition, observedAt: at } }, time);
    }
    case 'Container Instance': {
      const containerInstance = parseContainerInstanceAt(detail, 'detail');
      return withTime(
        { event: { kind: 'container-instance', containerInstance, observedAt: time ?? 0 } },
        time,
      );
    }
    case 'Task Described':
      return parseTaskDescribed(detail, time);
    case 'Cluster Snapshot':
      return parseSnapshot(detail, time);
    case 'Service Described': {
      const service = parseServiceAt(detail, 'detail');
      // Without a time the creation time will do: `createdAt` never changes, the time only orders.
      const at = time ?? service.createdAt;
      return {
        event: { kind: 'service', service, observedAt: at },
        clusterArn: service.clusterArn,
        time: at,
      };
    }
    default:
      throw new EventParseError(
        'unknown-observation-type',
        `ecs-ingress line with unknown detail-type ${JSON.stringify(detailType.slice(0, 60))} (expected one of ${OBSERVATION_KINDS.join(', ')})`,
      );
  }
}

function withTime(
  result: { event: ClusterEvent; clusterArn?: string },
  time: number | undefined,
): ParsedObservation {
  return time === undefined ? result : { ...result, time };
}

function parseTaskDescribed(detail: unknown, time: number | undefined): ParsedObservation {
  let task: TaskSnapshot = parseTaskAt(detail, time ?? 0, 'described', 'detail');
  let at = time;
  if (at === undefined) {
    // No envelope time: the task's own updatedAt is when ECS last changed it, a lower bound of when
    // it was described, which is the safe side for the snapshot merge rule.
    if (task.updatedAt === undefined) {
      throw new EventParseError(
        'missing-field:time',
        'Task Described line has neither time nor detail.updatedAt',
      );
    }
    at = task.updatedAt;
    task = { ...task, observedAt: at };
  }
  return { event: { kind: 'task', task }, clusterArn: task.clusterArn, time: at };
}

function parseSnapshot(detail: unknown, time: number | undefined): ParsedObservation {
  requireRecord(detail, 'detail', 'cluster snapshot');
  const parsed = snapshotSchema.safeParse(detail);
  if (!parsed.success) throw schemaError(parsed.error, detail, 'detail', 'cluster snapshot');
  const snapshot = parsed.data;
  const startedAt = readTimestamp(snapshot.startedAt, 'detail.startedAt');
  if (startedAt === undefined) {
    throw new EventParseError(
      'missing-field:detail.startedAt',
      'cluster snapshot: detail.startedAt is missing',
    );
  }
  // Each listed task counts as observed when the listing began: the store's merge compares event
  // observation times with this, and the start is the conservative bound.
  const tasks = snapshot.tasks.map((task, i) =>
    parseTaskAt(task, startedAt, 'described', `detail.tasks.${i}`),
  );
  requireEcsArn(snapshot.clusterArn, 'cluster', 'detail.clusterArn');
  const event: ClusterEvent = snapshot.services
    ? { kind: 'snapshot', clusterArn: snapshot.clusterArn, startedAt, tasks, services: snapshot.services }
    : { kind: 'snapshot', clusterArn: snapshot.clusterArn, startedAt, tasks };
  return { event, clusterArn: snapshot.clusterArn, time: time ?? startedAt };
}
