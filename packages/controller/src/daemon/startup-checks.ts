/**
 * What `run` checks before it starts anything, so that a wrong path fails at once with the
 * variable to fix, instead of surfacing later as a bundle fetch failure or a bare NGINX error:
 *  - ECS_INGRESS_NGINX_BINARY is an executable file;
 *  - NGINX_CONFIG_DIR (when set) is a directory;
 *  - ECS_INGRESS_WORK_DIR and the directories of the files ecs-ingress writes
 *    (ECS_INGRESS_UPSTREAMS_FILE, or the three dynamic-mode files) exist or can be created, and are
 *    writable.
 * Every problem is reported, each naming its variable (`ConfigErrors`, exit code 2).
 * Also here: the explanations of two start-up failures that only NGINX or the OS can detect: the
 * HTTP port in use, and a reload-layout bundle in dynamic mode.
 */
import { constants } from 'node:fs';
import { access, mkdir, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ConfigError } from '@ecs-ingress/types';
import { BundleRejectedError } from '../bundle/errors.js';
import { ConfigErrors, type DaemonConfig } from '../config/env.js';

/** Node's errno codes, as words a reader understands. */
const FS_REASONS: Readonly<Record<string, string>> = {
  ENOENT: 'does not exist',
  ENOTDIR: 'has a parent that is not a directory',
  EACCES: 'is not accessible (permission denied)',
  EPERM: 'is not accessible (operation not permitted)',
  EEXIST: 'exists and is not a directory',
  EISDIR: 'is a directory',
  EROFS: 'is on a read-only file system',
  ENOSPC: 'is on a full file system',
};

/** `/x does not exist (ENOENT)`: a file system error as a phrase about `path`. */
export function describeFsError(path: string, error: unknown): string {
  const code = (error as { code?: unknown }).code;
  const reason = typeof code === 'string' ? FS_REASONS[code] : undefined;
  if (reason !== undefined) return `${path} ${reason} (${code})`;
  return `${path}: ${error instanceof Error ? error.message : String(error)}`;
}

/** Throws `ConfigErrors` (every problem found, each naming its variable) when a path is unusable. */
export async function checkStartupPaths(config: DaemonConfig): Promise<void> {
  const problems = await Promise.all([
    checkExecutable('ECS_INGRESS_NGINX_BINARY', config.nginxBinary),
    config.bundle.dir === undefined ? undefined : checkDirectory('NGINX_CONFIG_DIR', config.bundle.dir),
    checkWritableDir('ECS_INGRESS_WORK_DIR', config.workDir),
    ...ownFiles(config).map(([variable, file]) => checkWritableDir(variable, dirname(file), file)),
  ]);
  const errors = problems.filter((p): p is ConfigError => p !== undefined);
  if (errors.length > 0) throw new ConfigErrors(errors);
}

/** The files ecs-ingress writes, by the variable that names them. */
function ownFiles(config: DaemonConfig): [string, string][] {
  if (config.upstreamMode !== 'dynamic') return [['ECS_INGRESS_UPSTREAMS_FILE', config.upstreamsFile]];
  return [
    ['ECS_INGRESS_DYNAMIC_PREAMBLE_FILE', config.dynamic.preambleFile],
    ['ECS_INGRESS_DYNAMIC_UPSTREAMS_FILE', config.dynamic.httpUpstreamsFile],
    ['ECS_INGRESS_STREAM_UPSTREAMS_FILE', config.dynamic.streamUpstreamsFile],
  ];
}

/** The NGINX executable named by `variable` (a variable or a flag) exists and can run; else why not. */
export async function checkExecutable(variable: string, path: string): Promise<ConfigError | undefined> {
  try {
    if (!(await stat(path)).isFile()) return new ConfigError(variable, `${path} is not a file`);
    await access(path, constants.X_OK);
    return undefined;
  } catch (error) {
    const hint =
      (error as { code?: unknown }).code === 'ENOENT'
        ? `: install NGINX (Debian: apt-get install nginx) or point ${variable} at it`
        : '';
    return new ConfigError(variable, `the NGINX executable ${describeFsError(path, error)}${hint}`);
  }
}

async function checkDirectory(variable: string, path: string): Promise<ConfigError | undefined> {
  try {
    if (!(await stat(path)).isDirectory()) return new ConfigError(variable, `${path} is not a directory`);
    await access(path, constants.R_OK | constants.X_OK);
    return undefined;
  } catch (error) {
    return new ConfigError(variable, `the bundle directory ${describeFsError(path, error)}`);
  }
}

/** `dir` exists (or is created) as a writable directory; `file`, when given, is not a directory. */
async function checkWritableDir(
  variable: string,
  dir: string,
  file?: string,
): Promise<ConfigError | undefined> {
  try {
    await mkdir(dir, { recursive: true });
  } catch (error) {
    return new ConfigError(variable, `cannot create the directory ${describeFsError(dir, error)}`);
  }
  try {
    await access(dir, constants.W_OK | constants.X_OK);
  } catch (error) {
    return new ConfigError(variable, `cannot write in ${describeFsError(dir, error)}`);
  }
  if (file !== undefined) {
    const isDir = await stat(file).then(
      (s) => s.isDirectory(),
      () => false,
    );
    if (isDir) return new ConfigError(variable, `${file} is a directory; it must be a file path`);
  }
  return undefined;
}

/**
 * An HTTP listener's address could not be bound: say which variable chooses it. `debugVariable`:
 * the debug listener's (ECS_INGRESS_DEBUG_LISTEN) rather than the main one's.
 */
export function httpListenConfigError(
  config: DaemonConfig,
  error: unknown,
  debugVariable?: 'ECS_INGRESS_DEBUG_LISTEN',
): HttpStartError {
  const cause = (error as { cause?: { code?: unknown } }).cause;
  const code = typeof cause?.code === 'string' ? cause.code : undefined;
  const address = debugVariable === undefined ? config.http : (config.http.debug ?? config.http);
  const where = `${address.host}:${address.port}`;
  const portVariable = debugVariable ?? 'ECS_INGRESS_HTTP_PORT';
  if (code === 'EADDRINUSE') {
    return new HttpStartError(
      portVariable,
      `${where} is already in use (EADDRINUSE): another process (another ecs-ingress?) listens there; choose a free port with ${portVariable}`,
      error,
    );
  }
  if (code === 'EACCES') {
    return new HttpStartError(
      portVariable,
      `no permission to listen on ${where} (EACCES): ports below 1024 need CAP_NET_BIND_SERVICE; choose another with ${portVariable}`,
      error,
    );
  }
  const hostVariable = debugVariable ?? 'ECS_INGRESS_HTTP_HOST';
  const check = debugVariable ?? 'ECS_INGRESS_HTTP_HOST and ECS_INGRESS_HTTP_PORT';
  return new HttpStartError(
    hostVariable,
    `cannot listen on ${where}${code === undefined ? '' : ` (${code})`}: check ${check}`,
    error,
  );
}

/** The HTTP endpoints could not start; `variable` says what to change. Exit code 1 (runtime). */
export class HttpStartError extends Error {
  readonly code = 'ECS_INGRESS_HTTP_LISTEN_FAILED';
  constructor(
    readonly variable: string,
    message: string,
    cause: unknown,
  ) {
    super(`${variable}: ${message}`, { cause });
    this.name = 'HttpStartError';
  }
}

/**
 * The start-up bundle's refusal with the variables to check: where the bundle comes from when it
 * could not be read, NGINX_CONFIG_FILE_NAME when the main file is missing, and the includes a
 * dynamic-mode bundle needs (explainDynamicLayout). Other refusals are returned as they are.
 */
export function explainStartupRejection(
  config: DaemonConfig,
  error: BundleRejectedError,
): BundleRejectedError {
  const { s3, dir, mainFileName } = config.bundle;
  if (error.reason === 'unreadable' || error.reason === 'missing-main-file') {
    const where =
      s3 !== undefined
        ? `NGINX_CONFIG_BUNDLE_S3_BUCKET=${s3.bucket}, NGINX_CONFIG_BUNDLE_S3_KEY=${s3.key} (and s3:GetObject in the task role's policy)`
        : dir !== undefined
          ? `NGINX_CONFIG_DIR=${dir}`
          : 'the built-in default bundle';
    const check =
      error.reason === 'missing-main-file' ? `NGINX_CONFIG_FILE_NAME=${mainFileName} and ${where}` : where;
    return rewrap(error, `${error.message}; check ${check}`);
  }
  return explainDynamicLayout(config, error);
}

/** The same refusal (reason, NGINX's lines, bundle id, kept tree) with a clearer message. */
function rewrap(error: BundleRejectedError, message: string): BundleRejectedError {
  const explained = new BundleRejectedError(error.reason, message, {
    cause: error,
    nginxErrors: error.nginxErrors,
    ...(error.bundleId === undefined ? {} : { bundleId: error.bundleId }),
  });
  explained.inspectDir = error.inspectDir;
  return explained;
}

/**
 * In dynamic mode, a bundle in the reload-mode layout includes ECS_INGRESS_UPSTREAMS_FILE, which
 * this mode does not write: NGINX then only says `open() "…/upstreams.conf" failed`. This returns
 * the refusal with the includes a dynamic bundle needs; other refusals are returned as they are.
 */
function explainDynamicLayout(config: DaemonConfig, error: BundleRejectedError): BundleRejectedError {
  if (config.upstreamMode !== 'dynamic') return error;
  const opensReloadFile = error.nginxErrors.some(
    (line) =>
      line.includes(`open() "${config.upstreamsFile}" failed`) &&
      !line.includes(config.dynamic.httpUpstreamsFile),
  );
  if (!opensReloadFile) return error;
  const needed =
    `ECS_INGRESS_UPSTREAM_MODE=dynamic, but the bundle includes ${config.upstreamsFile} ` +
    '(ECS_INGRESS_UPSTREAMS_FILE, the reload-mode layout), which dynamic mode does not write. ' +
    `A dynamic-mode bundle loads the NDK and Lua modules and includes, in http, ${config.dynamic.preambleFile} ` +
    `(ECS_INGRESS_DYNAMIC_PREAMBLE_FILE) then ${config.dynamic.httpUpstreamsFile} (ECS_INGRESS_DYNAMIC_UPSTREAMS_FILE), ` +
    `and in stream ${config.dynamic.streamUpstreamsFile} (ECS_INGRESS_STREAM_UPSTREAMS_FILE); see deploy/bundle-dynamic. ` +
    'Or run the bundle in reload mode: ECS_INGRESS_UPSTREAM_MODE=reload';
  return rewrap(error, needed);
}
