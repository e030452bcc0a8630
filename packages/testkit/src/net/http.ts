import type { IncomingHttpHeaders } from 'node:http';
import { request } from 'node:http';

export interface HttpAnswer {
  readonly status: number;
  readonly body: string;
  readonly headers: IncomingHttpHeaders;
}

/**
 * One GET on a fresh connection (`agent: false`: a kept-alive connection would stay on an old
 * NGINX worker generation), to a URL or to 127.0.0.1:<port><path>. Rejects on a network error or
 * after `timeoutMs` without an answer.
 */
export function httpGet(
  target: string | { readonly port: number; readonly path?: string },
  timeoutMs = 5_000,
): Promise<HttpAnswer> {
  const url = typeof target === 'string' ? target : `http://127.0.0.1:${target.port}${target.path ?? '/'}`;
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end();
  });
}

/** GET on a fresh connection to a URL, or to 127.0.0.1:<port><path>: status and body. */
export async function get(
  target: string | number,
  path = '/',
  timeoutMs = 5_000,
): Promise<{ status: number; body: string }> {
  const { status, body } = await httpGet(
    typeof target === 'string' ? target : { port: target, path },
    timeoutMs,
  );
  return { status, body };
}
