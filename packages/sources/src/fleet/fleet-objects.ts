/**
 * The S3 calls the fleet makes, and nothing else: conditional writes (If-None-Match: * creates,
 * If-Match replaces the version read) and conditional reads (If-None-Match: <etag> → 304).
 * A failed precondition is an answer (`conflict`), not an error; everything else throws.
 * Every call takes an abort signal, so a daemon stopping (SIGTERM) never waits on S3.
 * The S3 client (and `@aws-sdk/client-s3`) is loaded at the first call; a failure to load it is
 * that call's error.
 */
import type { GetObjectCommandOutput, S3Client } from '@aws-sdk/client-s3';
import type { LazyClient } from '../aws/lazy-client.js';
import type { SharedS3Location } from './shared-s3-uri.js';

export interface StoredBody {
  readonly body: Uint8Array;
  readonly etag: string;
}

export type PutOutcome = { readonly ok: true; readonly etag: string } | { readonly ok: false };

export class FleetObjects {
  constructor(
    private readonly s3: LazyClient<S3Client>,
    readonly location: SharedS3Location,
  ) {}

  key(name: string): string {
    return `${this.location.prefix}${name}`;
  }

  /** The object, `undefined` when absent, `'unchanged'` when its ETag still equals `ifNoneMatch`. */
  async get(
    name: string,
    ifNoneMatch?: string,
    signal?: AbortSignal,
  ): Promise<StoredBody | undefined | 'unchanged'> {
    let out: GetObjectCommandOutput;
    const [s3, { GetObjectCommand }] = await Promise.all([this.s3(), import('@aws-sdk/client-s3')]);
    try {
      out = await s3.send(
        new GetObjectCommand({
          Bucket: this.location.bucket,
          Key: this.key(name),
          ...(ifNoneMatch ? { IfNoneMatch: ifNoneMatch } : {}),
        }),
        signal ? { abortSignal: signal } : {},
      );
    } catch (err) {
      const status = httpStatus(err);
      if (status === 304) return 'unchanged';
      if (status === 404) return undefined;
      throw err;
    }
    const body = (await out.Body?.transformToByteArray()) ?? new Uint8Array();
    signal?.throwIfAborted();
    return { body, etag: out.ETag ?? '' };
  }

  /**
   * Writes `body` under `name`: only if absent (`{ ifNoneMatch: '*' }`), only over the version
   * `{ ifMatch }`, or unconditionally. `{ ok: false }` when the condition did not hold (412; 404 or
   * 409 for If-Match on a key deleted or written concurrently).
   */
  async put(
    name: string,
    body: Uint8Array | string,
    condition: { readonly ifNoneMatch: '*' } | { readonly ifMatch: string } | undefined,
    options: { readonly contentType?: string; readonly signal?: AbortSignal } = {},
  ): Promise<PutOutcome> {
    const [s3, { PutObjectCommand }] = await Promise.all([this.s3(), import('@aws-sdk/client-s3')]);
    try {
      const out = await s3.send(
        new PutObjectCommand({
          Bucket: this.location.bucket,
          Key: this.key(name),
          Body: body,
          ContentType: options.contentType ?? 'application/json',
          // Fleet objects hold cluster metadata: encrypted at rest with the bucket's S3-managed key.
          ServerSideEncryption: 'AES256',
          ...(condition && 'ifNoneMatch' in condition ? { IfNoneMatch: '*' } : {}),
          ...(condition && 'ifMatch' in condition ? { IfMatch: condition.ifMatch } : {}),
        }),
        options.signal ? { abortSignal: options.signal } : {},
      );
      return { ok: true, etag: out.ETag ?? '' };
    } catch (err) {
      const status = httpStatus(err);
      if (condition && (status === 412 || status === 409 || (status === 404 && 'ifMatch' in condition))) {
        return { ok: false };
      }
      throw err;
    }
  }
}

/** The HTTP status of an SDK error (an `S3ServiceException`, or one the SDK could not parse). */
function httpStatus(err: unknown): number | undefined {
  const meta = (err as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata;
  return meta?.httpStatusCode;
}
