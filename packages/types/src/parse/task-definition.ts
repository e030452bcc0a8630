/**
 * A DescribeTaskDefinition `taskDefinition` → `TaskDefinitionView`: only what routing needs
 * (network mode, each container's port mappings, docker labels, and whether it has a health check).
 * Task definitions are immutable once registered, so this runs once per ARN.
 */
import { z } from 'zod';
import type { ContainerDefinitionView, NetworkMode, PortMappingView, TaskDefinitionView } from '../domain.js';
import { InvalidArnError, parseEcsArn } from './arn.js';
import { requireRecord, schemaError } from './schema-error.js';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

const portMappingSchema = z.object({
  // A mapping may carry `containerPortRange` instead of `containerPort`; such a mapping has no single
  // port to route to and is skipped below.
  containerPort: z.number().int().min(1).max(65535).nullish(),
  hostPort: z.number().int().nonnegative().max(65535).nullish(),
  protocol: z.string().nullish(),
});

const containerDefinitionSchema = z.object({
  name: z.string().min(1),
  portMappings: z.array(portMappingSchema).nullish(),
  dockerLabels: z.record(z.string(), z.string()).nullish(),
  healthCheck: z.object({ command: z.array(z.string()).nullish() }).nullish(),
});

const taskDefinitionSchema = z.object({
  taskDefinitionArn: z.string().min(1),
  family: z.string().min(1),
  revision: z.number().int().min(1),
  networkMode: z.enum(['awsvpc', 'bridge', 'host', 'none']).nullish(),
  containerDefinitions: z.array(containerDefinitionSchema),
});

/**
 * Parses a task definition. `networkMode` defaults to `bridge` when absent, which is what ECS does
 * for the EC2 launch type ("If no network mode is specified, the default is bridge").
 * @throws EventParseError (`missing-field:…`, `invalid-field:…`, `not-an-object`)
 */
export function parseTaskDefinition(obj: unknown): TaskDefinitionView {
  return parseTaskDefinitionAt(obj, '');
}

/** As `parseTaskDefinition`, with error paths prefixed by `path` (e.g. `detail`). */
export function parseTaskDefinitionAt(obj: unknown, path: string): TaskDefinitionView {
  requireRecord(obj, path, 'task definition');
  const parsed = taskDefinitionSchema.safeParse(obj);
  if (!parsed.success) throw schemaError(parsed.error, obj, path, 'task definition');
  const td = parsed.data;
  const where = path === '' ? 'taskDefinitionArn' : `${path}.taskDefinitionArn`;
  const arn = parseEcsArn(td.taskDefinitionArn, 'task-definition');
  // The ARN names the same revision as the body, or the body is not what its ARN says.
  if (arn === undefined || arn.family !== td.family || arn.revision !== td.revision) {
    throw new InvalidArnError('task-definition', where, td.taskDefinitionArn);
  }
  const networkMode: NetworkMode = td.networkMode ?? 'bridge';
  return {
    taskDefinitionArn: td.taskDefinitionArn,
    family: td.family,
    revision: td.revision,
    networkMode,
    containers: td.containerDefinitions.map(toContainerDefinition),
  };
}

function toContainerDefinition(c: z.infer<typeof containerDefinitionSchema>): ContainerDefinitionView {
  const portMappings: PortMappingView[] = [];
  for (const m of c.portMappings ?? []) {
    if (m.containerPort === undefined || m.containerPort === null) continue;
    const mapping: Mutable<PortMappingView> = {
      containerPort: m.containerPort,
      protocol: m.protocol ? m.protocol.toLowerCase() : 'tcp',
    };
    // hostPort 0 (or absent) in bridge mode means "dynamic": the real port is in the task's networkBindings.
    if (m.hostPort) mapping.hostPort = m.hostPort;
    portMappings.push(mapping);
  }
  return {
    name: c.name,
    portMappings,
    dockerLabels: c.dockerLabels ?? {},
    hasHealthCheck: hasHealthCheck(c.healthCheck?.command),
  };
}

/**
 * A container health check counts when it has a command. Docker's `["NONE"]` disables an image's
 * HEALTHCHECK, so it does not count (ECS then reports the container's health as UNKNOWN).
 */
function hasHealthCheck(command: readonly string[] | null | undefined): boolean {
  if (!command || command.length === 0) return false;
  return !(command.length === 1 && command[0]?.toUpperCase() === 'NONE');
}
