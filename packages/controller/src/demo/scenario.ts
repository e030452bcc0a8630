/**
 * The bundled demo scenario and how it is mapped onto loopback. The scenario keeps realistic awsvpc
 * addresses (192.0.2.x, documentation only; container ports 8080/9000); the demo starts one backend per task address on
 * 127.0.0.x and rewrites every line before the store sees it: each placeholder IP becomes its
 * backend's loopback address, each placeholder container port the port those backends bound.
 * Rewriting the JSON (not the parsed events) keeps the replay path identical to `ecs-ingress replay`.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseEventBody } from '@ecs-ingress/types';

/** `fixtures/demo-scenario.jsonl`, found from this file in src/ and in dist/ alike. */
export const DEMO_SCENARIO_FILE = fileURLToPath(
  new URL('../../fixtures/demo-scenario.jsonl', import.meta.url),
);

/** A task of the scenario, as the demo needs it to start a backend. */
export interface ScenarioTask {
  readonly taskArn: string;
  /** The last 8 characters of the task id: what the backend answers with. */
  readonly shortId: string;
  readonly service: string;
  /** Placeholder ENI address. */
  readonly ip: string;
  /** Placeholder container port (from its task definition). */
  readonly port: number;
}

/** Placeholder → real. */
export interface AddressMap {
  readonly ips: ReadonlyMap<string, string>;
  readonly ports: ReadonlyMap<number, number>;
  /** Other whole string values (the tcp route's `listen` label → the demo's stream port). */
  readonly strings?: ReadonlyMap<string, string>;
}

export function readScenarioLines(file: string = DEMO_SCENARIO_FILE): string[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '');
}

/** Every service task with an ENI address, once, in first-seen order. */
export function scenarioTasks(lines: readonly string[]): ScenarioTask[] {
  const ports = new Map<string, number>();
  const tasks = new Map<string, Omit<ScenarioTask, 'port'> & { taskDefinitionArn: string }>();
  for (const line of lines) {
    for (const event of parseEventBody(line).events) {
      if (event.kind === 'task-definition') {
        const port = event.taskDefinition.containers[0]?.portMappings[0]?.containerPort;
        if (port !== undefined) ports.set(event.taskDefinition.taskDefinitionArn, port);
      }
      if (event.kind === 'task') {
        const { task } = event;
        if (task.serviceName === undefined || task.eniPrivateIpv4Address === undefined) continue;
        if (tasks.has(task.taskArn)) continue;
        tasks.set(task.taskArn, {
          taskArn: task.taskArn,
          shortId: task.taskArn.slice(-8),
          service: task.serviceName,
          ip: task.eniPrivateIpv4Address,
          taskDefinitionArn: task.taskDefinitionArn,
        });
      }
    }
  }
  const result: ScenarioTask[] = [];
  for (const { taskDefinitionArn, ...task } of tasks.values()) {
    const port = ports.get(taskDefinitionArn);
    if (port === undefined)
      throw new Error(`demo scenario: no task definition line for ${taskDefinitionArn}`);
    result.push({ ...task, port });
  }
  return result;
}

const PORT_KEYS: ReadonlySet<string> = new Set(['containerPort', 'hostPort']);

function rewrite(value: unknown, map: AddressMap, key: string | undefined): unknown {
  if (typeof value === 'string') return map.ips.get(value) ?? map.strings?.get(value) ?? value;
  if (typeof value === 'number') {
    return key !== undefined && PORT_KEYS.has(key) ? (map.ports.get(value) ?? value) : value;
  }
  if (Array.isArray(value)) return value.map((item) => rewrite(item, map, undefined));
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = rewrite(v, map, k);
    return out;
  }
  return value;
}

/** One scenario line with placeholder addresses, ports and strings replaced (whole string values and port fields only). */
export function rewriteScenarioLine(line: string, map: AddressMap): string {
  return JSON.stringify(rewrite(JSON.parse(line) as unknown, map, undefined));
}
