/**
 * The bundle from S3 (NGINX_CONFIG_BUNDLE_S3_BUCKET / NGINX_CONFIG_BUNDLE_S3_KEY), checked every
 * interval with a conditional GET: `If-None-Match: <last ETag>` makes S3 answer 304 Not Modified
 * without a body, so an unchanged bundle costs one small request and no download (the ancestor
 * downloaded the whole bundle every 10 s). fauxqs honours If-None-Match too, so the tests exercise
 * this same path (no HeadObject fallback needed).
 */
import type { GetObjectCommandOutput, S3Client } from '@aws-sdk/client-s3';
import type { LazyClient } from '@ecs-ingress/sources';
import type { Logger } from '@ecs-ingress/types';
import { silentLogger } from '@ecs-ingress/types';
import { type Observable, Subject } from 'rxjs';
import { BundleRejectedError } from './errors.js';
import { DEFAULT_MAX_BYTES, extractBundle } from './extract.js';
import {
  type BundleCandidate,
  type BundleSource,
  type BundleSourceMetrics,
  pollCandidates,
} from './sources.js';
import { hashBytes } from './tree.js';

export interface S3BundleSourceOptions {
  /** Built (`@aws-sdk/client-s3` loaded) at the first check. */
  client: LazyClient<S3Client>;
  bucket: string;
  key: string;
  /** Between the end of one check and the start of the next. Default 30 s. */
  intervalMs?: number;
  /** Largest archive (compressed) we download. Default 50 MiB. */
  maxDownloadBytes?: number;
  logger?: Logger;
  metrics?: BundleSourceMetrics;
}

/** What the checks did, for tests and the debug endpoint. */
export interface S3BundleSourceStats {
  /** Conditional GETs answered 304: nothing downloaded. */
  notModified: number;
  /** GETs that transferred a body. */
  downloads: number;
  /** Bytes of bodies transferred. */
  downloadedBytes: number;
  errors: number;
}

function isNotModified(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.$metadata?.httpStatusCode === 304 || e?.name === 'NotModified';
}

export class S3BundleSource implements BundleSource {
  readonly candidates$: Observable<BundleCandidate>;
  readonly stats: S3BundleSourceStats = { notModified: 0, downloads: 0, downloadedBytes: 0, errors: 0 };
  private readonly client: LazyClient<S3Client>;
  private readonly bucket: string;
  private readonly key: string;
  private readonly maxDownloadBytes: number;
  private readonly logger: Logger;
  private readonly metrics: BundleSourceMetrics | undefined;
  private readonly stop$ = new Subject<void>();
  private etag: string | undefined;
  private lastId: string | undefined;
  /** Aborts a download in flight at `stop()` (SIGTERM must not wait for a slow S3). */
  private readonly abort = new AbortController();

  constructor(options: S3BundleSourceOptions) {
    this.client = options.client;
    this.bucket = options.bucket;
    this.key = options.key;
    this.maxDownloadBytes = options.maxDownloadBytes ?? DEFAULT_MAX_BYTES;
    this.logger = (options.logger ?? silentLogger).child({ component: 'bundle-source', source: 's3' });
    this.metrics = options.metrics;
    this.candidates$ = pollCandidates(
      () => this.check(),
      options.intervalMs ?? 30_000,
      this.stop$,
      (error) =>
        this.logger.warn(
          { err: error, bucket: this.bucket, key: this.key },
          'bundle check failed; will retry',
        ),
    );
  }

  /** `s3://bucket/key`. */
  get location(): string {
    return `s3://${this.bucket}/${this.key}`;
  }

  async check(): Promise<BundleCandidate | undefined> {
    let response: GetObjectCommandOutput;
    try {
      const [client, { GetObjectCommand }] = await Promise.all([this.client(), import('@aws-sdk/client-s3')]);
      response = await client.send(
        new GetObjectCommand({
          Bucket: this.bucket,
          Key: this.key,
          ...(this.etag === undefined ? {} : { IfNoneMatch: this.etag }),
        }),
        { abortSignal: this.abort.signal },
      );
    } catch (error) {
      if (isNotModified(error)) {
        this.stats.notModified += 1;
        this.metrics?.bundleChecks.inc({ result: 'unchanged' });
        return undefined;
      }
      this.stats.errors += 1;
      this.metrics?.bundleChecks.inc({ result: 'error' });
      throw error;
    }
    if (response.ContentLength !== undefined && response.ContentLength > this.maxDownloadBytes) {
      // Leave the body unread: destroying the stream aborts the transfer.
      (response.Body as { destroy?: () => void } | undefined)?.destroy?.();
      // Remember its ETag: the next checks are answered 304 until the object changes, so an
      // oversized bundle is refused once, not re-requested and re-logged every interval.
      this.etag = response.ETag;
      this.stats.errors += 1;
      this.metrics?.bundleChecks.inc({ result: 'error' });
      throw new BundleRejectedError(
        'too-large',
        `${this.location} is ${response.ContentLength} bytes, over the ${this.maxDownloadBytes} byte limit`,
      );
    }
    const body = Buffer.from((await response.Body?.transformToByteArray()) ?? new Uint8Array());
    this.stats.downloads += 1;
    this.stats.downloadedBytes += body.length;
    const etag = response.ETag;
    this.etag = etag;
    const id = hashBytes(body);
    if (id === this.lastId) {
      this.metrics?.bundleChecks.inc({ result: 'unchanged' });
      return undefined;
    }
    this.lastId = id;
    this.metrics?.bundleChecks.inc({ result: 'changed' });
    this.logger.info(
      { location: this.location, etag, bytes: body.length, bundleId: id },
      'new config bundle found',
    );
    return {
      id,
      origin: `${this.location}@${etag ?? 'no-etag'}`,
      materialise: async (stagingDir, limits) => {
        await extractBundle(body, stagingDir, limits);
      },
    };
  }

  forget(id: string): void {
    if (id !== this.lastId) return;
    // Drop the ETag too: with it, S3 would answer 304 and the object would never be fetched again.
    this.lastId = undefined;
    this.etag = undefined;
  }

  stop(): void {
    this.abort.abort();
    this.stop$.next();
    this.stop$.complete();
  }
}
