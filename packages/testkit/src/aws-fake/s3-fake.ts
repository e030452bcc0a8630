/**
 * A wire-level S3 subset (REST-XML, path-style) that answers conditional requests as S3 does, which
 * fauxqs 2 does not (it ignores `If-None-Match: *` and `If-Match` on PutObject):
 * - PutObject with `If-None-Match: *` → 412 PreconditionFailed when the key exists;
 *   with `If-Match: <etag>` → 412 when the ETag differs, 404 NoSuchKey when the key is absent;
 * - GetObject / HeadObject with `If-None-Match: <etag>` → 304 when equal, `If-Match` → 412 when not;
 * - DeleteObject (204 whether or not the key exists), CreateBucket, HeadBucket.
 * Each request is handled to the end before the next one is read (Node runs one handler at a
 * time between awaits, and the check-and-write below has none), so two racing conditional puts
 * see the same order S3's strong consistency gives: exactly one wins.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { FAKE_CREDENTIALS, listenOnLoopback, xmlEscape } from './wire.js';

interface StoredObject {
  readonly body: Buffer;
  readonly etag: string;
  readonly contentType: string | undefined;
  readonly contentEncoding: string | undefined;
  readonly metadata: Readonly<Record<string, string>>;
  readonly lastModified: Date;
}

/** `unavailable`: every request answers 503 (the SDK retries, then fails); `reset`: sockets are destroyed. */
/** `unavailable`: 503 to everything; `reset`: connections closed; `hang`: requests never answered. */
export type S3FakeOutage = 'unavailable' | 'reset' | 'hang';

export interface S3Fake {
  readonly url: string;
  readonly port: number;
  /** Config for `new S3Client({...})` (path style: `<bucket>.127.0.0.1` cannot resolve). */
  clientConfig(): {
    endpoint: string;
    region: string;
    forcePathStyle: true;
    credentials: { accessKeyId: string; secretAccessKey: string };
  };
  /** Calls by operation, e.g. `{ PutObject: 3, 'PutObject:412': 1 }` (failures also by status). */
  callCounts(): Record<string, number>;
  calls(operation: string): number;
  resetCalls(): void;
  /** The stored object, if any. */
  object(bucket: string, key: string): { body: Buffer; etag: string } | undefined;
  keys(bucket: string, prefix?: string): string[];
  /** Starts (or with `undefined` ends) an outage of every request. */
  outage(kind: S3FakeOutage | undefined): void;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 64 * 1024 * 1024;

export async function startS3Fake(
  options: { region?: string; buckets?: readonly string[] } = {},
): Promise<S3Fake> {
  const region = options.region ?? 'us-east-1';
  const buckets = new Map<string, Map<string, StoredObject>>();
  for (const b of options.buckets ?? []) buckets.set(b, new Map());
  let counts = new Map<string, number>();
  let outage: S3FakeOutage | undefined;
  const count = (key: string) => counts.set(key, (counts.get(key) ?? 0) + 1);

  function handle(req: IncomingMessage, res: ServerResponse, body: Buffer) {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const path = url.pathname.slice(1);
    const slash = path.indexOf('/');
    const bucketName = decodeURIComponent(slash < 0 ? path : path.slice(0, slash));
    const key = slash < 0 ? '' : decodeURIComponent(path.slice(slash + 1));
    const method = req.method ?? 'GET';
    const operation = operationOf(method, key, url);
    count(operation);
    const fail = (status: number, code: string, message: string) => {
      count(`${operation}:${status}`);
      sendError(res, status, code, message, method === 'HEAD');
    };
    if (operation === 'CreateBucket') {
      if (!buckets.has(bucketName)) buckets.set(bucketName, new Map());
      res.writeHead(200, { location: `/${bucketName}` }).end();
      return;
    }
    const bucket = buckets.get(bucketName);
    if (!bucket) return fail(404, 'NoSuchBucket', 'The specified bucket does not exist');
    if (operation === 'HeadBucket') return void res.writeHead(200).end();
    if (key === '') return fail(501, 'NotImplemented', `${method} on a bucket is not modelled`);
    const existing = bucket.get(key);
    const ifMatch = header(req, 'if-match');
    const ifNoneMatch = header(req, 'if-none-match');

    if (operation === 'PutObject') {
      if (ifNoneMatch !== undefined && (ifNoneMatch !== '*' || existing)) {
        if (ifNoneMatch !== '*') return fail(501, 'NotImplemented', 'If-None-Match on PUT takes only *');
        return fail(
          412,
          'PreconditionFailed',
          'At least one of the pre-conditions you specified did not hold',
        );
      }
      if (ifMatch !== undefined) {
        if (!existing) return fail(404, 'NoSuchKey', 'The specified key does not exist.');
        if (!etagMatches(ifMatch, existing.etag)) {
          return fail(
            412,
            'PreconditionFailed',
            'At least one of the pre-conditions you specified did not hold',
          );
        }
      }
      const data = decodeAwsChunked(req, body);
      const etag = `"${createHash('md5').update(data).digest('hex')}"`;
      const metadata: Record<string, string> = {};
      for (const [h, v] of Object.entries(req.headers)) {
        if (h.startsWith('x-amz-meta-') && typeof v === 'string') metadata[h.slice(11)] = v;
      }
      const encoding = header(req, 'content-encoding')
        ?.split(',')
        .map((s) => s.trim())
        .filter((s) => s !== 'aws-chunked')
        .join(',');
      bucket.set(key, {
        body: data,
        etag,
        contentType: header(req, 'content-type'),
        contentEncoding: encoding === '' ? undefined : encoding,
        metadata,
        lastModified: new Date(),
      });
      res.writeHead(200, { etag, 'x-amz-request-id': randomUUID() }).end();
      return;
    }
    if (operation === 'DeleteObject') {
      bucket.delete(key);
      res.writeHead(204).end();
      return;
    }
    // GetObject / HeadObject
    if (!existing) return fail(404, 'NoSuchKey', 'The specified key does not exist.');
    if (ifMatch !== undefined && !etagMatches(ifMatch, existing.etag)) {
      return fail(412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold');
    }
    const headers: Record<string, string | number> = {
      etag: existing.etag,
      'last-modified': existing.lastModified.toUTCString(),
      'content-length': existing.body.length,
      'content-type': existing.contentType ?? 'binary/octet-stream',
      'x-amz-request-id': randomUUID(),
    };
    if (existing.contentEncoding) headers['content-encoding'] = existing.contentEncoding;
    for (const [k, v] of Object.entries(existing.metadata)) headers[`x-amz-meta-${k}`] = v;
    if (ifNoneMatch !== undefined && etagMatches(ifNoneMatch, existing.etag)) {
      count(`${operation}:304`);
      res.writeHead(304, { etag: existing.etag }).end();
      return;
    }
    res.writeHead(200, headers);
    res.end(method === 'HEAD' ? undefined : existing.body);
  }

  const server = createServer((req, res) => {
    if (outage === 'reset') {
      req.socket.destroy();
      return;
    }
    if (outage === 'hang') {
      // Left unanswered: only the client's abort (or close()) ends it.
      count('Hung');
      return;
    }
    readRaw(req).then(
      (body) => {
        if (outage === 'unavailable') {
          count('Unavailable');
          return sendError(
            res,
            503,
            'ServiceUnavailable',
            'Please reduce your request rate.',
            req.method === 'HEAD',
          );
        }
        handle(req, res, body);
      },
      (err: unknown) => {
        if (!res.headersSent) sendError(res, 400, 'IncompleteBody', String(err), false);
      },
    );
  });
  const { port, url } = await listenOnLoopback(server);
  return {
    url,
    port,
    clientConfig: () => ({
      endpoint: url,
      region,
      forcePathStyle: true,
      credentials: { ...FAKE_CREDENTIALS },
    }),
    callCounts: () => Object.fromEntries([...counts.entries()].sort(([a], [b]) => a.localeCompare(b))),
    calls: (operation) => counts.get(operation) ?? 0,
    resetCalls: () => {
      counts = new Map();
    },
    object: (bucket, key) => {
      const o = buckets.get(bucket)?.get(key);
      return o ? { body: o.body, etag: o.etag } : undefined;
    },
    keys: (bucket, prefix = '') =>
      [...(buckets.get(bucket)?.keys() ?? [])].filter((k) => k.startsWith(prefix)).sort(),
    outage: (kind) => {
      outage = kind;
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function operationOf(method: string, key: string, url: URL): string {
  if (key === '') {
    if (method === 'PUT') return 'CreateBucket';
    if (method === 'HEAD') return 'HeadBucket';
    return url.searchParams.has('list-type') ? 'ListObjectsV2' : `${method}Bucket`;
  }
  switch (method) {
    case 'PUT':
      return 'PutObject';
    case 'GET':
      return 'GetObject';
    case 'HEAD':
      return 'HeadObject';
    case 'DELETE':
      return 'DeleteObject';
    default:
      return `${method}Object`;
  }
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return typeof v === 'string' ? v : undefined;
}

/** `If-Match` / `If-None-Match` may list several ETags, quoted or not, or `*`. */
function etagMatches(condition: string, etag: string): boolean {
  const bare = etag.replace(/"/g, '');
  return condition.split(',').some((c) => {
    const t = c.trim().replace(/^W\//, '').replace(/"/g, '');
    return t === '*' || t === bare;
  });
}

async function readRaw(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > MAX_BODY_BYTES) throw new Error('request body too large');
    chunks.push(buf);
  }
  return Buffer.concat(chunks);
}

/**
 * The SDK streams some bodies as `aws-chunked` (`<hex size>[;ext]\r\n<data>\r\n`… `0\r\n<trailers>`)
 * with the checksum in a trailer; the object is the data without the framing.
 */
function decodeAwsChunked(req: IncomingMessage, body: Buffer): Buffer {
  const encoding = header(req, 'content-encoding') ?? '';
  const sha = header(req, 'x-amz-content-sha256') ?? '';
  if (!encoding.includes('aws-chunked') && !sha.startsWith('STREAMING-')) return body;
  const parts: Buffer[] = [];
  let at = 0;
  while (at < body.length) {
    const eol = body.indexOf('\r\n', at);
    if (eol < 0) break;
    const size = Number.parseInt(body.subarray(at, eol).toString('latin1').split(';')[0] ?? '', 16);
    if (!(size > 0)) break;
    parts.push(body.subarray(eol + 2, eol + 2 + size));
    at = eol + 2 + size + 2;
  }
  return Buffer.concat(parts);
}

function sendError(res: ServerResponse, status: number, code: string, message: string, head: boolean): void {
  const xml = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${xmlEscape(code)}</Code><Message>${xmlEscape(message)}</Message><RequestId>${randomUUID()}</RequestId></Error>`;
  res.writeHead(status, {
    'content-type': 'application/xml',
    'content-length': head ? 0 : Buffer.byteLength(xml),
    'x-amz-request-id': randomUUID(),
  });
  res.end(head ? undefined : xml);
}
