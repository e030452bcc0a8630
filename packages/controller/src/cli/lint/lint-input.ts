/**
 * The inputs of `ecs-ingress lint`: task definition files and recordings → the services whose
 * labels the lint resolves. Hostile input (a huge file, a line without end, malformed JSON, labels
 * that are not strings) ends in a `LintInputError` naming the file and the spot, never a stack trace.
 *
 * A task definition is accepted as `aws ecs describe-task-definition` prints it (with or without
 * the `taskDefinition` wrapper) or as a `register-task-definition` input (no ARN, no revision).
 * A recording is the replay format (see `replay --help`); its services carry the labels of their
 * newest admitted task's definition (else of their newest task's).
 */
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { extname } from 'node:path';
import { Transform } from 'node:stream';
import { readRecording } from '@ecs-ingress/sources';
import { ClusterStore, deriveUpstreams } from '@ecs-ingress/store';
import {
  EcsIngressError,
  EventParseError,
  parseTaskDefinition,
  type TaskDefinitionView,
} from '@ecs-ingress/types';
import { describeFsError } from '../../daemon/startup-checks.js';
import { byAge } from '../../routes/resolve-routes.js';
import { applyLine, emptyCounts, formatInvalidLine, looksBinary } from '../replay/apply-recording.js';
import { nothingValidError } from '../replay/replay-input.js';
import { routeLabelsOf } from './route-labels.js';

/** A file `lint` cannot use: missing, too big, not JSON, not a task definition or recording. Exit 2. */
export class LintInputError extends EcsIngressError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ECS_INGRESS_LINT_INPUT_INVALID', message, options);
  }
}

/** ECS refuses task definitions over 64 KiB; 4 MiB leaves room for pretty-printed JSON and more. */
export const MAX_TASK_DEFINITION_BYTES = 4 * 1024 * 1024;
/** A recording streams in constant memory, but one line is held whole: a cluster snapshot of a few thousand tasks fits. */
export const MAX_RECORDING_LINE_BYTES = 64 * 1024 * 1024;

/** One service as `lint` resolves it. */
export interface LintService {
  readonly name: string;
  /** The file it came from (the last one, when a task definition file replaced a recorded service). */
  readonly file: string;
  readonly taskDefinitionArn?: string;
  /** The serving container's labels (see route-labels.ts). */
  readonly labels: Readonly<Record<string, string>>;
  /** Containers other than the serving one that carry route labels (those are not read). */
  readonly ignoredContainers: readonly string[];
  /** Route labels the daemon would not read at all (no serving container): fails the lint. */
  readonly problem?: string;
  /**
   * The service's ECS `createdAt`, as the recording's `Service Described` lines told it (what the
   * daemon resolves with); `undefined` when the recording holds none: the youngest, as in the daemon.
   */
  readonly createdAt?: number;
  /**
   * Set for a service that only a task definition file names (1, 2, … in argument order): a new
   * service, younger than every recorded one.
   */
  readonly newcomer?: number;
}

export interface LintFileSummary {
  readonly file: string;
  readonly kind: 'task-definition' | 'recording';
  /** Recordings: lines that did not parse (reported, skipped). */
  readonly invalidLines: readonly string[];
}

export interface LintInputs {
  /** In seniority order: the first is the oldest (it wins a conflict). */
  readonly services: readonly LintService[];
  readonly files: readonly LintFileSummary[];
}

/**
 * Reads every file in order. Recorded services are ordered as the daemon orders them (by their
 * recorded ECS `createdAt`, unknown ones youngest, ties by name); services that only task
 * definition files name are younger, in argument order. A task definition whose family names a service already read is a new revision of it: its
 * labels replace the old ones and the service keeps its age (a deploy checked against the cluster).
 */
export async function readLintInputs(files: readonly string[]): Promise<LintInputs> {
  const services = new Map<string, LintService>();
  const summaries: LintFileSummary[] = [];
  let newServices = 0;
  for (const file of files) {
    const size = await fileSize(file);
    const json = await readSmallJson(file, size);
    if (json.kind === 'task-definition') {
      const td = json.taskDefinition;
      const known = services.get(td.family);
      if (known === undefined) newServices += 1;
      const serving = routeLabelsOf(td);
      services.set(td.family, {
        name: td.family,
        file,
        taskDefinitionArn: td.taskDefinitionArn,
        ...serving,
        ...(known === undefined ? { newcomer: newServices } : {}),
        ...(known?.createdAt === undefined ? {} : { createdAt: known.createdAt }),
        ...(known?.newcomer === undefined ? {} : { newcomer: known.newcomer }),
      });
      summaries.push({ file, kind: 'task-definition', invalidLines: [] });
      continue;
    }
    if (json.kind === 'json-error' && extname(file) === '.json') {
      throw new LintInputError(`${file}: not valid JSON (${json.message})`);
    }
    const recorded = await readRecordedServices(file, json.kind === 'json-error' ? json.message : json.why);
    for (const service of recorded.services) services.set(service.name, service);
    summaries.push({ file, kind: 'recording', invalidLines: recorded.invalidLines });
  }
  const ordered = [...services.values()].sort(
    (a, b) =>
      (a.newcomer ?? 0) - (b.newcomer ?? 0) ||
      byAge(a.createdAt, b.createdAt) ||
      (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
  );
  return { services: ordered, files: summaries };
}

async function fileSize(file: string): Promise<number | undefined> {
  try {
    const s = await stat(file);
    if (s.isDirectory())
      throw new LintInputError(`${file} is a directory, not a task definition or a recording`);
    if (!s.isFile() && !s.isFIFO()) throw new LintInputError(`${file} is not a regular file`);
    return s.isFile() ? s.size : undefined;
  } catch (error) {
    if (error instanceof LintInputError) throw error;
    throw new LintInputError(`cannot read ${describeFsError(file, error)}`, { cause: error });
  }
}

type SmallJson =
  | { kind: 'task-definition'; taskDefinition: TaskDefinitionView }
  | { kind: 'json-error'; message: string }
  /** Valid JSON or too big, but not a task definition: maybe a recording. */
  | { kind: 'other'; why: string };

/** A file up to MAX_TASK_DEFINITION_BYTES parsed as one JSON document; a task definition if it is one. */
async function readSmallJson(file: string, size: number | undefined): Promise<SmallJson> {
  if (size !== undefined && size > MAX_TASK_DEFINITION_BYTES) {
    if (extname(file) === '.json') {
      throw new LintInputError(
        `${file} is ${size} bytes: a task definition file may be at most ${MAX_TASK_DEFINITION_BYTES} bytes`,
      );
    }
    return { kind: 'other', why: 'too big for a task definition' };
  }
  const text = await readAtMost(file, MAX_TASK_DEFINITION_BYTES + 1);
  if (text.length > MAX_TASK_DEFINITION_BYTES) return { kind: 'other', why: 'too big for a task definition' };
  let document: unknown;
  try {
    document = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (error) {
    return { kind: 'json-error', message: error instanceof Error ? error.message : String(error) };
  }
  const candidate = taskDefinitionObject(document);
  if (candidate === undefined) {
    if (extname(file) === '.json') {
      throw new LintInputError(
        `${file} is not a task definition: expected a JSON object with "containerDefinitions" ` +
          '(register-task-definition input) or "taskDefinition" (describe-task-definition output)',
      );
    }
    return { kind: 'other', why: 'not a task definition' };
  }
  try {
    return { kind: 'task-definition', taskDefinition: parseTaskDefinition(withArn(candidate)) };
  } catch (error) {
    const message = error instanceof EventParseError ? error.message : String(error);
    throw new LintInputError(`${file}: ${message}`, { cause: error });
  }
}

async function readAtMost(file: string, limit: number): Promise<string> {
  const handle = await open(file, 'r').catch((error: unknown) => {
    throw new LintInputError(`cannot read ${describeFsError(file, error)}`, { cause: error });
  });
  try {
    const buffer = Buffer.alloc(limit);
    let length = 0;
    while (length < limit) {
      const { bytesRead } = await handle.read(buffer, length, limit - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    return buffer.subarray(0, length).toString('utf8');
  } catch (error) {
    throw new LintInputError(`cannot read ${describeFsError(file, error)}`, { cause: error });
  } finally {
    await handle.close();
  }
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function taskDefinitionObject(document: unknown): Record<string, unknown> | undefined {
  if (!isObject(document)) return undefined;
  if (isObject(document.taskDefinition)) return document.taskDefinition;
  return 'containerDefinitions' in document ? document : undefined;
}

/**
 * A register-task-definition input has no ARN and no revision: give it placeholder ones (revision 1
 * in a documentation account), so the one task-definition parser of the daemon checks it.
 */
function withArn(td: Record<string, unknown>): Record<string, unknown> {
  if (td.taskDefinitionArn !== undefined) return td;
  const revision = typeof td.revision === 'number' ? td.revision : 1;
  const family = typeof td.family === 'string' ? td.family : '';
  return {
    ...td,
    revision,
    taskDefinitionArn: `arn:aws:ecs:us-east-1:000000000000:task-definition/${family}:${revision}`,
  };
}

/** Fails the stream when a line grows past `limit` bytes (readline would hold it all in memory). */
function lineLengthGuard(file: string, limit: number): Transform {
  let sinceNewline = 0;
  let lineNo = 1;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      let start = 0;
      for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) {
        if (sinceNewline + (i - start) > limit) break;
        sinceNewline = 0;
        lineNo += 1;
        start = i + 1;
      }
      sinceNewline += chunk.length - start;
      if (sinceNewline > limit) {
        callback(
          new LintInputError(`${file}: line ${lineNo} is longer than ${limit} bytes: not a recording`),
        );
        return;
      }
      callback(null, chunk);
    },
  });
}

async function readRecordedServices(
  file: string,
  notJson: string,
): Promise<{ services: LintService[]; invalidLines: string[] }> {
  const store = new ClusterStore();
  const counts = emptyCounts();
  const invalidLines: string[] = [];
  let binary = false;
  const source = createReadStream(file);
  const guarded = source.pipe(lineLengthGuard(file, MAX_RECORDING_LINE_BYTES));
  source.on('error', (error) => guarded.destroy(error));
  try {
    for await (const line of readRecording(guarded.setEncoding('utf8'))) {
      const { invalid } = applyLine(store, line, counts);
      if (invalid === undefined) continue;
      if (line.kind === 'invalid' && looksBinary(line.raw)) binary = true;
      if (invalidLines.length < 100)
        invalidLines.push(formatInvalidLine(invalid, line.kind === 'invalid' ? line.raw : undefined));
    }
  } catch (error) {
    if (error instanceof LintInputError) throw error;
    throw new LintInputError(`cannot read ${describeFsError(file, error)}`, { cause: error });
  } finally {
    source.destroy();
  }
  const nothing = nothingValidError(file, counts, binary);
  if (nothing !== undefined) {
    throw new LintInputError(
      `${file} is neither a task definition (${notJson}) nor a recording: ${nothing.message}`,
    );
  }
  // The daemon's own derivation: the services whose newest admitted task's labels publish routes.
  const state = store.snapshot();
  const services: LintService[] = [];
  for (const source of deriveUpstreams(state).routeSources) {
    const td = state.taskDefinitions.get(source.taskDefinitionArn);
    services.push({
      name: source.service,
      file,
      taskDefinitionArn: source.taskDefinitionArn,
      labels: source.labels,
      ignoredContainers: td === undefined ? [] : routeLabelsOf(td).ignoredContainers,
      ...(source.createdAt === undefined ? {} : { createdAt: source.createdAt }),
    });
  }
  return { services, invalidLines };
}
