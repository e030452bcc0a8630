/** The account and region the fake pretends to be; ARNs it builds use them. */
export interface AwsFakeIdentity {
  readonly region: string;
  readonly accountId: string;
}

export const DEFAULT_IDENTITY: AwsFakeIdentity = { region: 'us-east-1', accountId: '123456789012' };

export function ecsArn(identity: AwsFakeIdentity, resource: string): string {
  return `arn:aws:ecs:${identity.region}:${identity.accountId}:${resource}`;
}

export function eventsArn(identity: AwsFakeIdentity, resource: string): string {
  return `arn:aws:events:${identity.region}:${identity.accountId}:${resource}`;
}

/** The last `/`-separated part of an ARN (the id), or the input when it is already a bare id or name. */
export function lastSegment(arnOrId: string): string {
  const slash = arnOrId.lastIndexOf('/');
  return slash === -1 ? arnOrId : arnOrId.slice(slash + 1);
}
