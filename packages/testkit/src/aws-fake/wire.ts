import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** An error the fake answers with, in the wire format of the service that raised it. */
export class AwsFakeError extends Error {
  constructor(
    /** The AWS error code, e.g. `InvalidParameterException` or `InvalidInstanceID.NotFound`. */
    readonly code: string,
    message: string,
    /** HTTP status; AWS answers client errors with 400 and its own faults with 5xx. */
    readonly status = 400,
  ) {
    super(message);
    this.name = code;
  }
}

/** The largest request body the fake reads; real calls of the operations we model are far smaller. */
const MAX_BODY_BYTES = 16 * 1024 * 1024;

export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > MAX_BODY_BYTES) throw new AwsFakeError('RequestEntityTooLarge', 'request body too large', 413);
    chunks.push(buf);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Converts a model value to its awsJson1_1 wire form: timestamps travel as epoch seconds
 * (fractional allowed), everything else as is. Model objects use the SDK's shapes (with `Date`s),
 * so tests can build them with the SDK's own types.
 */
export function toJsonWire(value: unknown): unknown {
  if (value instanceof Date) return value.getTime() / 1000;
  if (Array.isArray(value)) return value.map(toJsonWire);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (v !== undefined) out[k] = toJsonWire(v);
    }
    return out;
  }
  return value;
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(toJsonWire(body));
  res.writeHead(status, {
    'content-type': 'application/x-amz-json-1.1',
    'content-length': Buffer.byteLength(text),
    'x-amzn-requestid': randomUUID(),
  });
  res.end(text);
}

/** awsJson1_1 error: the code in `__type` (the SDK strips any `namespace#` prefix), the text in `message`. */
export function sendJsonError(res: ServerResponse, err: AwsFakeError): void {
  sendJson(res, err.status, { __type: err.code, message: err.message });
}

export function xmlEscape(s: string): string {
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

export function sendXml(res: ServerResponse, status: number, xml: string): void {
  const text = `<?xml version="1.0" encoding="UTF-8"?>\n${xml}`;
  res.writeHead(status, {
    'content-type': 'text/xml;charset=UTF-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

/** EC2 query-protocol error document: `<Response><Errors><Error><Code>…` plus a `RequestID`. */
export function sendEc2Error(res: ServerResponse, err: AwsFakeError): void {
  sendXml(
    res,
    err.status,
    `<Response><Errors><Error><Code>${xmlEscape(err.code)}</Code><Message>${xmlEscape(err.message)}</Message></Error></Errors><RequestID>${randomUUID()}</RequestID></Response>`,
  );
}

export interface Page<T> {
  items: T[];
  nextToken?: string;
}

/**
 * Offset pagination behind an opaque token, as AWS list operations page: `limit` items at most,
 * and a `nextToken` only while more remain.
 */
export function paginate<T>(
  all: readonly T[],
  limit: number,
  token: string | undefined,
  invalid: (message: string) => AwsFakeError,
): Page<T> {
  let start = 0;
  if (token !== undefined && token !== '') {
    const decoded = Buffer.from(token, 'base64url').toString('utf8');
    const match = /^offset:(\d+)$/.exec(decoded);
    if (!match) throw invalid('Invalid nextToken');
    start = Number(match[1]);
  }
  const items = all.slice(start, start + limit);
  const end = start + items.length;
  if (end < all.length) {
    return { items, nextToken: Buffer.from(`offset:${end}`, 'utf8').toString('base64url') };
  }
  return { items };
}

/** Reads an optional string member of a JSON request. */
export function optString(input: Record<string, unknown>, key: string): string | undefined {
  const v = input[key];
  return typeof v === 'string' ? v : undefined;
}

/** Reads an optional string-array member of a JSON request. */
export function optStrings(input: Record<string, unknown>, key: string): string[] | undefined {
  const v = input[key];
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : undefined;
}

export function optNumber(input: Record<string, unknown>, key: string): number | undefined {
  const v = input[key];
  return typeof v === 'number' ? v : undefined;
}

/** The static credentials every fake hands its SDK clients (the fakes check no signature). */
export const FAKE_CREDENTIALS = { accessKeyId: 'AKIDFAKE', secretAccessKey: 'fake-secret' } as const;

/** Listens on a free loopback port; resolves with the port and the endpoint URL. */
export async function listenOnLoopback(server: Server): Promise<{ port: number; url: string }> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return { port, url: `http://127.0.0.1:${port}` };
}
