import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_AGENT_URL, planInstanceId, resolveInstanceId } from './instance-identity.js';

const ARN = 'arn:aws:ecs:eu-west-1:123456789012:container-instance/prod/0123456789abcdef0123456789abcdef';

/** Plays the ECS agent's introspection endpoint; the path prefix picks the behaviour. */
function agent(req: IncomingMessage, res: ServerResponse): void {
  const [, mode, ...rest] = (req.url ?? '').split('/');
  const path = `/${rest.join('/')}`;
  if (path !== '/v1/metadata') {
    res.writeHead(404).end();
    return;
  }
  switch (mode) {
    case 'ok':
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          Cluster: 'prod',
          ContainerInstanceArn: ARN,
          Version: 'Amazon ECS Agent - v1.89.0',
        }),
      );
      return;
    case 'error':
      res.writeHead(500).end('internal error');
      return;
    case 'no-arn':
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ Cluster: 'prod' }));
      return;
    case 'not-json':
      res.writeHead(200).end('<html>');
      return;
    default:
      // 'hang': never answer; the client's timeout must end the wait.
      return;
  }
}

describe('resolveInstanceId against a fake ECS agent', () => {
  let server: Server;
  let base: string;

  beforeAll(async () => {
    server = createServer(agent);
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((done) => server.close(done));
  });

  it('uses the container instance ARN the agent reports', async () => {
    const identity = await resolveInstanceId({ fallback: 'host-a', agentUrl: `${base}/ok` });
    expect(identity).toEqual({ id: ARN, source: 'ecs-agent', cluster: 'prod' });
  });

  it.each(['error', 'no-arn', 'not-json', 'hang'])(
    'falls back to the host name when the agent answers %s',
    async (mode) => {
      const identity = await resolveInstanceId(
        { fallback: 'host-a', agentUrl: `${base}/${mode}` },
        { timeoutMs: 200 },
      );
      expect(identity).toEqual({ id: 'host-a', source: 'configured' });
    },
  );

  it('falls back when nothing listens at the agent URL', async () => {
    const closed = createServer();
    await new Promise<void>((done) => closed.listen(0, '127.0.0.1', done));
    const url = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
    await new Promise((done) => closed.close(done));
    expect(await resolveInstanceId({ fallback: 'host-b', agentUrl: url })).toEqual({
      id: 'host-b',
      source: 'configured',
    });
  });

  it('does not ask anyone without an agent URL', async () => {
    expect(await resolveInstanceId({ fallback: 'i-explicit' })).toEqual({
      id: 'i-explicit',
      source: 'configured',
    });
  });
});

describe('planInstanceId', () => {
  it.each([
    [{}, { fallback: 'host' }],
    [{ ECS_INGRESS_INSTANCE_ID: 'i-1' }, { fallback: 'i-1' }],
    [
      { ECS_INGRESS_INSTANCE_ID: 'i-1', ECS_CONTAINER_METADATA_URI_V4: 'http://169.254.170.2/v4/x' },
      { fallback: 'i-1' },
    ],
    [
      { ECS_CONTAINER_METADATA_URI_V4: 'http://169.254.170.2/v4/x' },
      { fallback: 'host', agentUrl: DEFAULT_AGENT_URL },
    ],
    [{ ECS_INGRESS_AGENT_URL: 'http://127.0.0.1:9' }, { fallback: 'host', agentUrl: 'http://127.0.0.1:9' }],
    [
      { ECS_INGRESS_INSTANCE_ID: ' ', ECS_INGRESS_AGENT_URL: 'http://127.0.0.1:9' },
      { fallback: 'host', agentUrl: 'http://127.0.0.1:9' },
    ],
  ])('%j → %j', (env, plan) => {
    expect(planInstanceId(env, 'host')).toEqual(plan);
  });
});
