import { type FauxqsServer, startFauxqs } from 'fauxqs';

/** A running fauxqs (SQS + S3 emulator, in-process) on 127.0.0.1 with an ephemeral port. */
export interface FauxqsHarness {
  /** `http://127.0.0.1:<port>`: the endpoint for both SQSClient and S3Client. */
  readonly endpoint: string;
  readonly port: number;
  readonly region: string;
  /** The fauxqs server, for its own helpers (`createQueue`, `inspectQueue`, `reset`, …). */
  readonly server: FauxqsServer;
  /** Config for `new SQSClient({...})`. */
  sqsConfig(): FauxqsClientConfig;
  /** Config for `new S3Client({...})`: path-style, since `<bucket>.127.0.0.1` cannot resolve. */
  s3Config(): FauxqsClientConfig & { forcePathStyle: true };
  close(): Promise<void>;
}

export interface FauxqsClientConfig {
  endpoint: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
}

export async function startFauxqsServer(options: { region?: string } = {}): Promise<FauxqsHarness> {
  const region = options.region ?? 'us-east-1';
  const server = await startFauxqs({ port: 0, logger: false, defaultRegion: region });
  const endpoint = `http://127.0.0.1:${server.port}`;
  const base = (): FauxqsClientConfig => ({
    endpoint,
    region,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  let closed = false;
  return {
    endpoint,
    port: server.port,
    region,
    server,
    sqsConfig: base,
    s3Config: () => ({ ...base(), forcePathStyle: true }),
    close: async () => {
      if (closed) return;
      closed = true;
      await server.stop();
    },
  };
}
