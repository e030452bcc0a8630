/** `ECS_INGRESS_SHARED_S3_URI`: where a fleet of daemons shares task definitions, its lease and its listing. */

export interface SharedS3Location {
  readonly bucket: string;
  /** Key prefix, empty or ending in `/`. */
  readonly prefix: string;
}

/** S3 bucket names: 3–63 characters of lower-case letters, digits, dots and hyphens. */
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/**
 * Parses `s3://bucket/prefix` (prefix optional; a trailing `/` is added).
 * @returns the location, or a reason the text is not one (the caller names the variable)
 */
export function parseSharedS3Uri(text: string): SharedS3Location | { readonly error: string } {
  const match = /^s3:\/\/([^/]+)(?:\/(.*))?$/.exec(text.trim());
  if (!match) return { error: `expected s3://<bucket>/<prefix>, got ${JSON.stringify(text)}` };
  const bucket = match[1] as string;
  if (!BUCKET.test(bucket) || bucket.includes('..')) {
    return { error: `${JSON.stringify(bucket)} is not a valid S3 bucket name` };
  }
  let prefix = match[2] ?? '';
  if (prefix.startsWith('/') || prefix.includes('//')) {
    return { error: `prefix ${JSON.stringify(prefix)} has an empty path segment` };
  }
  if (prefix !== '' && !prefix.endsWith('/')) prefix += '/';
  return { bucket, prefix };
}
