import { randomUUID } from 'node:crypto';
import type { AwsFakeIdentity } from './identity.js';
import { AwsFakeError, xmlEscape } from './wire.js';

/** EC2's XML namespace for API version 2016-11-15, the version the SDK v3 speaks. */
export const EC2_XMLNS = 'http://ec2.amazonaws.com/doc/2016-11-15/';

export interface FakeInstance {
  instanceId: string;
  privateIpAddress: string;
  /** running, stopped… (EC2 `instanceState.name`). */
  state: string;
  instanceType: string;
}

const STATE_CODES: Record<string, number> = {
  pending: 0,
  running: 16,
  'shutting-down': 32,
  terminated: 48,
  stopping: 64,
  stopped: 80,
};

/** In-memory EC2, just enough for DescribeInstances by id over the query protocol. */
export class Ec2Fake {
  readonly instances = new Map<string, FakeInstance>();

  constructor(readonly identity: AwsFakeIdentity) {}

  putInstance(
    instanceId: string,
    privateIpAddress: string,
    options: { state?: string; instanceType?: string } = {},
  ): FakeInstance {
    const instance: FakeInstance = {
      instanceId,
      privateIpAddress,
      state: options.state ?? 'running',
      instanceType: options.instanceType ?? 't3.medium',
    };
    this.instances.set(instanceId, instance);
    return instance;
  }

  removeInstance(instanceId: string): boolean {
    return this.instances.delete(instanceId);
  }

  /** Answers one EC2 query-protocol call (form fields) with the XML body of a 200 answer. */
  handle(operation: string, params: URLSearchParams): string {
    if (operation !== 'DescribeInstances') {
      throw new AwsFakeError('InvalidAction', `The action ${operation} is not valid for this web service.`);
    }
    return this.describeInstances(params);
  }

  private describeInstances(params: URLSearchParams): string {
    // The query protocol flattens the list as InstanceId.1, InstanceId.2, …
    const ids: string[] = [];
    for (let i = 1; params.has(`InstanceId.${i}`); i++) ids.push(params.get(`InstanceId.${i}`)!);
    for (const id of ids) {
      if (!/^i-[0-9a-f]+$/.test(id)) {
        throw new AwsFakeError('InvalidInstanceID.Malformed', `Invalid id: "${id}"`);
      }
    }
    // EC2 fails the whole call when any requested id is unknown.
    const missing = ids.filter((id) => !this.instances.has(id));
    if (missing.length > 0) {
      const list = missing.map((id) => `'${id}'`).join(', ');
      const message =
        missing.length === 1
          ? `The instance ID ${list} does not exist`
          : `The instance IDs ${list} do not exist`;
      throw new AwsFakeError('InvalidInstanceID.NotFound', message);
    }
    const selected = ids.length > 0 ? ids.map((id) => this.instances.get(id)!) : [...this.instances.values()];
    const reservations = selected.map((i) => this.reservationXml(i)).join('');
    return (
      `<DescribeInstancesResponse xmlns="${EC2_XMLNS}"><requestId>${randomUUID()}</requestId>` +
      `<reservationSet>${reservations}</reservationSet></DescribeInstancesResponse>`
    );
  }

  /** One reservation per instance, as when each was launched by its own RunInstances call. */
  private reservationXml(i: FakeInstance): string {
    const dns = `ip-${i.privateIpAddress.replace(/\./g, '-')}.ec2.internal`;
    const code = STATE_CODES[i.state] ?? 16;
    return (
      `<item><reservationId>r-${i.instanceId.slice(2)}</reservationId><ownerId>${this.identity.accountId}</ownerId>` +
      '<groupSet/><instancesSet><item>' +
      `<instanceId>${xmlEscape(i.instanceId)}</instanceId><imageId>ami-0123456789abcdef0</imageId>` +
      `<instanceState><code>${code}</code><name>${xmlEscape(i.state)}</name></instanceState>` +
      `<privateDnsName>${dns}</privateDnsName><instanceType>${xmlEscape(i.instanceType)}</instanceType>` +
      `<privateIpAddress>${xmlEscape(i.privateIpAddress)}</privateIpAddress>` +
      `<placement><availabilityZone>${this.identity.region}a</availabilityZone></placement>` +
      '</item></instancesSet></item>'
    );
  }
}
