/**
 * A DescribeTasks `Task` object → `TaskSnapshot`. The same field names appear in the `detail` of an
 * `ECS Task State Change` event (the ECS developer guide: "the detail section resembles the Task
 * object returned from DescribeTasks"), so both go through here.
 *
 * Only the fields routing uses are validated; the rest of the object (overrides, attributes,
 * ephemeralStorage, …) is never walked, so AWS can add fields freely and a 2 KB event stays cheap.
 */
import { z } from 'zod';
import type {
  ContainerSnapshot,
  HealthStatus,
  NetworkBinding,
  TaskObservationSource,
  TaskSnapshot,
} from '../domain.js';
import { EventParseError } from '../errors.js';
import { isEcsName, requireEcsArn } from './arn.js';
import { isRecord, requireRecord, schemaError } from './schema-error.js';
import { readTimestamp } from './timestamps.js';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

// Optional fields accept null as well as absence: the JSON a user hand-edits or a tool re-serialises
// sometimes writes `null` for "not set". Objects use zod's default (strip) mode: unknown keys are
// accepted and simply not copied, which is what "tolerant of unknown fields" needs and keeps the
// parser from cloning subtrees we never read (a loose object would copy every extra key).
const optionalString = z.string().nullish();
const optionalPort = z.number().int().nonnegative().max(65535).nullish();

const networkBindingSchema = z.object({
  bindIP: optionalString,
  containerPort: optionalPort,
  hostPort: optionalPort,
  protocol: optionalString,
});

/**
 * An array whose elements are checked by hand where they are used, not by zod: an ENI attachment
 * carries 4–6 `{name, value}` details of which we read one, and profiling showed zod's per-element
 * work on such lists as the largest cost of parsing a task event. Elements we do read are still
 * type-checked (`eniAddress`, `containerAddress`), with the same error reasons.
 */
const lazyArray = z.custom<readonly unknown[]>((value) => Array.isArray(value), {
  message: 'expected an array',
});

const containerSchema = z.object({
  name: z.string(),
  lastStatus: optionalString,
  healthStatus: optionalString,
  networkBindings: z.array(networkBindingSchema).nullish(),
  networkInterfaces: lazyArray.nullish(),
});

const attachmentSchema = z.object({
  type: optionalString,
  details: lazyArray.nullish(),
});

const taskSchema = z.object({
  taskArn: z.string().min(1),
  clusterArn: z.string().min(1),
  taskDefinitionArn: z.string().min(1),
  group: optionalString,
  lastStatus: z.string().min(1),
  desiredStatus: z.string().min(1),
  // ECS increments `version` on every state change of the task; the store orders by it.
  version: z.number().int().nonnegative(),
  healthStatus: optionalString,
  launchType: optionalString,
  containerInstanceArn: optionalString,
  attachments: z.array(attachmentSchema).nullish(),
  containers: z.array(containerSchema).nullish(),
  stoppedReason: optionalString,
  stopCode: optionalString,
  // Timestamps come as Date (SDK), epoch seconds (JSON wire) or ISO strings (events): checked by readTimestamp.
  updatedAt: z.unknown().optional(),
  createdAt: z.unknown().optional(),
});

type TaskInput = z.infer<typeof taskSchema>;
type AttachmentInput = z.infer<typeof attachmentSchema>;
type ContainerInput = z.infer<typeof containerSchema>;

/** Attachment types that carry the task's own ENI: `eni` in events, `ElasticNetworkInterface` in DescribeTasks. */
const ENI_ATTACHMENT_TYPES: ReadonlySet<string> = new Set(['eni', 'ElasticNetworkInterface']);
const ENI_ADDRESS_DETAIL = 'privateIPv4Address';
const SERVICE_GROUP_PREFIX = 'service:';

/**
 * Parses a DescribeTasks task object (or a task state change event's `detail`).
 * @param observedAt when this observation was made (event envelope time, describe or snapshot time), epoch ms
 * @throws EventParseError with `missing-field:<path>`, `invalid-field:<path>` or `bad-timestamp:<path>`
 */
export function parseDescribedTask(
  obj: unknown,
  observedAt: number,
  source: TaskObservationSource = 'described',
): TaskSnapshot {
  return parseTaskAt(obj, observedAt, source, '');
}

/** As `parseDescribedTask`, with error paths prefixed by `path` (e.g. `detail`, `detail.tasks.2`). */
export function parseTaskAt(
  obj: unknown,
  observedAt: number,
  source: TaskObservationSource,
  path: string,
): TaskSnapshot {
  requireRecord(obj, path, 'task');
  const parsed = taskSchema.safeParse(obj);
  if (!parsed.success) throw schemaError(parsed.error, obj, path, 'task');
  return toSnapshot(parsed.data, observedAt, source, path);
}

function toSnapshot(
  t: TaskInput,
  observedAt: number,
  source: TaskObservationSource,
  path: string,
): TaskSnapshot {
  const at = (field: string) => (path === '' ? field : `${path}.${field}`);
  const eni = t.attachments ? eniAddress(t.attachments, path) : undefined;
  const task: Mutable<TaskSnapshot> = {
    taskArn: t.taskArn,
    clusterArn: t.clusterArn,
    taskDefinitionArn: t.taskDefinitionArn,
    lastStatus: t.lastStatus,
    desiredStatus: t.desiredStatus,
    version: t.version,
    containers: t.containers ? t.containers.map((c, i) => toContainer(c, path, i, eni)) : NO_CONTAINERS,
    observedAt,
    source,
  };
  if (t.group) {
    task.group = t.group;
    const serviceName = serviceNameFromGroup(task.group);
    if (serviceName !== undefined) {
      // ECS service names are 1..255 of [A-Za-z0-9_-]; anything else is not a service of ECS.
      if (!isEcsName(serviceName)) {
        throw new EventParseError(
          `invalid-field:${at('group')}`,
          `task: ${at('group')}: not a service name: ${JSON.stringify(serviceName.slice(0, 200))}`,
        );
      }
      task.serviceName = serviceName;
    }
  }
  const health = toHealth(t.healthStatus);
  if (health !== undefined) task.healthStatus = health;
  if (t.launchType) task.launchType = t.launchType;
  if (t.containerInstanceArn) task.containerInstanceArn = t.containerInstanceArn;
  if (eni !== undefined) task.eniPrivateIpv4Address = eni;
  if (t.stoppedReason) task.stoppedReason = t.stoppedReason;
  if (t.stopCode) task.stopCode = t.stopCode;
  const updatedAt =
    readTimestamp(t.updatedAt, path, 'updatedAt') ?? readTimestamp(t.createdAt, path, 'createdAt');
  if (updatedAt !== undefined) task.updatedAt = updatedAt;
  const createdAt = readTimestamp(t.createdAt, path, 'createdAt');
  if (createdAt !== undefined) task.createdAt = createdAt;
  // Identifiers by their grammar (after the shape checks, whose errors say more): a task that
  // names no real ECS task never reaches the store, whatever characters it holds (arn.ts).
  requireEcsArn(t.taskArn, 'task', at('taskArn'));
  requireEcsArn(t.clusterArn, 'cluster', at('clusterArn'));
  requireEcsArn(t.taskDefinitionArn, 'task-definition', at('taskDefinitionArn'));
  if (t.containerInstanceArn) {
    requireEcsArn(t.containerInstanceArn, 'container-instance', at('containerInstanceArn'));
  }
  return task;
}

/** `service:<name>` → `<name>`; `family:<name>` (standalone RunTask) and anything else → undefined. */
export function serviceNameFromGroup(group: string): string | undefined {
  if (!group.startsWith(SERVICE_GROUP_PREFIX)) return undefined;
  const name = group.slice(SERVICE_GROUP_PREFIX.length);
  return name === '' ? undefined : name;
}

function toHealth(value: string | null | undefined): HealthStatus | undefined {
  // Unknown future values are dropped rather than trusted: health only ever admits on HEALTHY.
  return value === 'HEALTHY' || value === 'UNHEALTHY' || value === 'UNKNOWN' ? value : undefined;
}

/** The first `privateIPv4Address` of an ENI attachment; `elb`, `sdi`, Service Connect etc. are skipped. */
function eniAddress(attachments: readonly AttachmentInput[], path: string): string | undefined {
  for (let a = 0; a < attachments.length; a++) {
    const attachment = attachments[a]!;
    if (!attachment.type || !ENI_ATTACHMENT_TYPES.has(attachment.type) || !attachment.details) continue;
    const details = attachment.details;
    for (let d = 0; d < details.length; d++) {
      const detail = details[d];
      if (!isRecord(detail) || detail.name !== ENI_ADDRESS_DETAIL) continue;
      const address = optionalTrimmed(detail.value, path, `attachments.${a}.details.${d}.value`);
      if (address !== undefined) return address;
    }
  }
  return undefined;
}

/** The first `privateIpv4Address` among a container's `networkInterfaces`. */
function containerAddress(interfaces: readonly unknown[], path: string, index: number): string | undefined {
  for (let n = 0; n < interfaces.length; n++) {
    const ni = interfaces[n];
    if (!isRecord(ni)) continue;
    const where = `containers.${index}.networkInterfaces.${n}.privateIpv4Address`;
    const address = optionalTrimmed(ni.privateIpv4Address, path, where);
    if (address !== undefined) return address;
  }
  return undefined;
}

/** A string field read by hand: absent → undefined, blank → undefined, non-string → `invalid-field`. */
function optionalTrimmed(value: unknown, path: string, field: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') {
    const where = path === '' ? field : `${path}.${field}`;
    throw new EventParseError(
      `invalid-field:${where}`,
      `task: ${where}: expected a string, got ${typeof value}`,
    );
  }
  const trimmed = value.trim();
  return trimmed === '' ? undefined : trimmed;
}

/** Shared empty lists (frozen): most containers publish no binding (awsvpc). */
const NO_CONTAINERS: readonly ContainerSnapshot[] = Object.freeze([]);
const NO_BINDINGS: readonly NetworkBinding[] = Object.freeze([]);

/** @param eni the task's ENI address: a container reporting the same one shares that string */
function toContainer(
  c: ContainerInput,
  path: string,
  index: number,
  eni: string | undefined,
): ContainerSnapshot {
  const bindings = c.networkBindings;
  const container: Mutable<ContainerSnapshot> = {
    name: c.name,
    networkBindings: bindings && bindings.length > 0 ? bindings.map(toBinding) : NO_BINDINGS,
  };
  if (c.lastStatus) container.lastStatus = c.lastStatus;
  const health = toHealth(c.healthStatus);
  if (health !== undefined) container.healthStatus = health;
  const address = c.networkInterfaces ? containerAddress(c.networkInterfaces, path, index) : undefined;
  if (address !== undefined) container.privateIpv4Address = address === eni ? eni : address;
  return container;
}

function toBinding(b: z.infer<typeof networkBindingSchema>): NetworkBinding {
  const binding: Mutable<NetworkBinding> = {};
  if (b.containerPort !== undefined && b.containerPort !== null) binding.containerPort = b.containerPort;
  if (b.hostPort !== undefined && b.hostPort !== null) binding.hostPort = b.hostPort;
  if (b.protocol) binding.protocol = b.protocol.toLowerCase();
  if (b.bindIP) {
    const bindIP = b.bindIP.trim();
    if (bindIP !== '') binding.bindIP = bindIP;
  }
  return binding;
}
