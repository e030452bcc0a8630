/**
 * Synthetic `ECS Task State Change` texts for the store benchmark: shaped like the AWS
 * documentation's example (ENI attachment with 5 details, container with network interfaces,
 * overrides, attributes; ~1.85 KB), made from a template of the JSON text with the varying values
 * substituted, so making one allocates little besides the text. The template is checked at load
 * against `JSON.stringify` of the same event object. Addresses are loopback (127.0.0.0/8).
 */
import { xorshift } from '@ecs-ingress/testkit';

export const REGION = 'us-east-1';
export const ACCOUNT = '111122223333';
const CLUSTER_ARN = `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/bench`;
export const T0 = Date.parse('2024-05-14T09:00:00.000Z');
/** Recorded-clock spacing of the churn: 1,000 events per second of ECS time. */
const EVENT_SPACING_MS = 1;

export interface Task {
  readonly id: string;
  readonly service: number;
  readonly ip: string;
}

let taskSerial = 0;
export function newTask(service: number): Task {
  const n = taskSerial++;
  // Loopback (127.0.0.0/8) gives 16.7 M distinct addresses; serials stay far below that.
  const ip = `127.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
  return { id: n.toString(16).padStart(32, '0'), service, ip };
}

const iso = (ms: number) => new Date(ms).toISOString();

/** The values that differ between events, as they appear in the text. */
interface EventValues {
  taskId: string;
  idHead: string;
  idTail16: string;
  idTail20: string;
  ip: string;
  ipDashed: string;
  service: string;
  lastStatus: string;
  containerStatus: string;
  desiredStatus: string;
  time: string;
  connectivityAt: string;
  createdAt: string;
  version: string;
}

function eventValues(
  task: Task,
  lastStatus: string,
  desiredStatus: string,
  version: number,
  at: number,
): EventValues {
  return {
    taskId: task.id,
    idHead: task.id.slice(0, 8),
    idTail16: task.id.slice(16),
    idTail20: task.id.slice(20),
    ip: task.ip,
    ipDashed: task.ip.replaceAll('.', '-'),
    service: String(task.service),
    lastStatus,
    containerStatus: lastStatus === 'RUNNING' ? 'RUNNING' : 'PENDING',
    desiredStatus,
    time: iso(at),
    connectivityAt: iso(at - 30_000),
    createdAt: iso(at - 40_000),
    version: String(version),
  };
}

/**
 * One `ECS Task State Change` as an SQS body carries it, as an object. `num` turns the version into
 * a number; the template is built from this same function with marker strings for every value.
 */
function taskEventObject(v: EventValues, num: (text: string) => unknown): unknown {
  const taskArn = `arn:aws:ecs:${REGION}:${ACCOUNT}:task/bench/${v.taskId}`;
  const attachmentId = `${v.idHead}-0000-4000-8000-${v.idTail20}`;
  return {
    version: '0',
    id: `${v.idHead}-${v.version}-4000-8000-000000000000`,
    'detail-type': 'ECS Task State Change',
    source: 'aws.ecs',
    account: ACCOUNT,
    time: v.time,
    region: REGION,
    resources: [taskArn],
    detail: {
      attachments: [
        {
          id: attachmentId,
          type: 'eni',
          status: 'ATTACHED',
          details: [
            { name: 'subnetId', value: 'subnet-0c4a7d2e9b1f36a85' },
            { name: 'networkInterfaceId', value: `eni-0${v.idTail16}` },
            { name: 'macAddress', value: '0a:98:eb:a7:29:ba' },
            { name: 'privateDnsName', value: `ip-${v.ipDashed}.ec2.internal` },
            { name: 'privateIPv4Address', value: v.ip },
          ],
        },
      ],
      attributes: [{ name: 'ecs.cpu-architecture', value: 'x86_64' }],
      availabilityZone: 'us-east-1a',
      clusterArn: CLUSTER_ARN,
      connectivity: 'CONNECTED',
      connectivityAt: v.connectivityAt,
      containers: [
        {
          containerArn: `arn:aws:ecs:${REGION}:${ACCOUNT}:container/bench/${v.taskId}/c0`,
          lastStatus: v.containerStatus,
          name: 'app',
          image: `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/svc-${v.service}:1`,
          taskArn,
          networkInterfaces: [{ attachmentId, privateIpv4Address: v.ip }],
          cpu: '0',
        },
      ],
      cpu: '256',
      createdAt: v.createdAt,
      desiredStatus: v.desiredStatus,
      group: `service:svc-${v.service}`,
      launchType: 'FARGATE',
      lastStatus: v.lastStatus,
      memory: '512',
      overrides: { containerOverrides: [{ name: 'app' }] },
      platformVersion: '1.4.0',
      startedBy: `ecs-svc/${v.service}`,
      taskArn,
      taskDefinitionArn: `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/svc-${v.service}:1`,
      updatedAt: v.time,
      version: num(v.version),
    },
  };
}

/**
 * The JSON text split at every value: `pieces[0] value[0] pieces[1] value[1] …`. Values are plain
 * ASCII without quotes or backslashes, so they need no escaping.
 */
const template = (() => {
  const names = Object.keys(eventValues(newTask(0), 'RUNNING', 'RUNNING', 1, T0)) as (keyof EventValues)[];
  taskSerial = 0;
  const markers = Object.fromEntries(names.map((name) => [name, `@@${name}@@`])) as unknown as EventValues;
  // A number is marked by a string marker; its quotes go with the marker.
  const text = JSON.stringify(taskEventObject(markers, (marker) => `##${marker}`));
  const parts = text.split(/"##@@(\w+)@@"|@@(\w+)@@/);
  const pieces: string[] = [];
  const order: (keyof EventValues)[] = [];
  for (let i = 0; i < parts.length; i += 3) {
    pieces.push(parts[i] as string);
    const name = parts[i + 1] ?? parts[i + 2];
    if (name !== undefined) order.push(name as keyof EventValues);
  }
  return { pieces, order };
})();

export function taskEventText(
  task: Task,
  lastStatus: string,
  desiredStatus: string,
  version: number,
  at: number,
): string {
  const values = eventValues(task, lastStatus, desiredStatus, version, at);
  const out: string[] = [];
  for (let i = 0; i < template.order.length; i++) {
    out.push(template.pieces[i] as string, values[template.order[i] as keyof EventValues]);
  }
  out.push(template.pieces[template.order.length] as string);
  // join makes one flat string, as an SQS body read from the wire is (a `+` chain would be a rope).
  return out.join('');
}

{
  // The template is the event object's JSON, byte for byte.
  const probe = newTask(7);
  for (const [last, desired, version] of [
    ['RUNNING', 'RUNNING', 4],
    ['PENDING', 'RUNNING', 2],
    ['STOPPED', 'STOPPED', 9],
  ] as const) {
    const values = eventValues(probe, last, desired, version, T0 + 123_456);
    const expected = JSON.stringify(taskEventObject(values, Number));
    if (taskEventText(probe, last, desired, version, T0 + 123_456) !== expected) {
      throw new Error('store.bench: the event template does not match JSON.stringify of the event');
    }
  }
  taskSerial = 0;
}

/**
 * The churn, as (task, status, version) steps: a random live task drains (desiredStatus STOPPED,
 * then STOPPED) and a replacement starts (PROVISIONING … RUNNING); 1 event in 20 is a redelivered
 * duplicate and 1 in 50 arrives after a newer one (stale), as ECS and SQS deliver them.
 */
export function* churn(live: Task[], seed: number): Generator<string> {
  const next = xorshift(seed);
  let at = T0 + 60_000;
  let previous = '';
  const pending: string[] = [];
  for (;;) {
    if (pending.length === 0) {
      const slot = Math.floor(next() * live.length);
      const old = live[slot] as Task;
      const fresh = newTask(old.service);
      live[slot] = fresh;
      const steps: Array<[Task, string, string, number]> = [
        [old, 'RUNNING', 'STOPPED', 5],
        [fresh, 'PROVISIONING', 'RUNNING', 1],
        [fresh, 'PENDING', 'RUNNING', 2],
        [fresh, 'ACTIVATING', 'RUNNING', 3],
        [fresh, 'RUNNING', 'RUNNING', 4],
        [old, 'STOPPED', 'STOPPED', 9],
      ];
      for (const [task, last, desired, version] of steps) {
        at += EVENT_SPACING_MS;
        pending.push(taskEventText(task, last, desired, version, at));
      }
      if (next() < 0.02) {
        // Out of order: PENDING delivered after ACTIVATING.
        const [a, b] = [pending[2] as string, pending[3] as string];
        pending[2] = b;
        pending[3] = a;
      }
    }
    const text = next() < 0.05 && previous !== '' ? previous : (pending.shift() as string);
    previous = text;
    yield text;
  }
}
