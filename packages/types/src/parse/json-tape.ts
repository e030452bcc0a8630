/**
 * The fast reader of `ECS Task State Change` message bodies.
 *
 * `JSON.parse` of a 1.8 KB task event costs 5–7 µs on a 2-core machine, most of it building the
 * ~70 objects and strings of fields the parser never reads (attributes, overrides, container
 * images, ENI details other than the address…). Here a WebAssembly scanner (assembly/json-scanner.ts)
 * validates the whole text as JSON and writes a tape of where every value is; this module then
 * builds, from the tape, an object holding exactly the fields `parseEventObject` reads, with the
 * values `JSON.parse` would have given them, and nothing else. `parseEventBody` runs its usual
 * checks on that object, so both routes share one set of rules.
 *
 * Whatever this route is not sure to read exactly as `JSON.parse` would, it declines (returns
 * `undefined`), and the caller takes the `JSON.parse` route: text the scanner declines (invalid JSON,
 * escapes, non-ASCII, very deep or large), any other event type or source, SNS envelopes, and any
 * field of an unexpected JSON type (which the schema route then reports with its exact error).
 */
import { internCopy } from './intern.js';
import { JSON_SCANNER_WASM_BASE64 } from './json-scanner.wasm.js';

/** The member keys the reader looks at; their ids are their index + 1 (0 = any other key). */
const KEYS = [
  // envelope
  'id',
  'detail-type',
  'source',
  'time',
  'detail',
  'Type',
  // task
  'taskArn',
  'clusterArn',
  'taskDefinitionArn',
  'lastStatus',
  'desiredStatus',
  'version',
  'group',
  'healthStatus',
  'launchType',
  'containerInstanceArn',
  'stoppedReason',
  'stopCode',
  'attachments',
  'containers',
  'updatedAt',
  'createdAt',
  // attachment, attachment detail
  'type',
  'details',
  'name',
  'value',
  // container, network binding, network interface
  'networkInterfaces',
  'networkBindings',
  'bindIP',
  'containerPort',
  'hostPort',
  'protocol',
  'privateIpv4Address',
] as const;

type Key = (typeof KEYS)[number];
const ID = Object.fromEntries(KEYS.map((key, index) => [key, index + 1])) as Record<Key, number>;

const KIND_OBJECT = 1;
const KIND_ARRAY = 2;
const KIND_STRING = 3;
const KIND_NUMBER = 4;
const KIND_NULL = 7;
// 5 and 6 are true and false, which no field read here may be.

const ECS_SOURCE = 'aws.ecs';
const ENI_ADDRESS_DETAIL = 'privateIPv4Address';
const TASK_STATE_CHANGE = 'ECS Task State Change';

interface Scanner {
  readonly scan: (length: number) => number;
  /** The input area (the whole memory; the input starts at 0). */
  readonly bytes: Uint8Array;
  /** The same memory, to make strings from (a copy each: nothing keeps the input alive). */
  readonly buffer: Buffer;
  /** The tape as 32-bit words: 4 per entry. */
  readonly tape: Int32Array;
  readonly maxInput: number;
}

interface ScannerExports {
  readonly memory: { readonly buffer: ArrayBuffer };
  readonly scan: (length: number) => number;
  readonly init: () => void;
  readonly addKey: (offset: number, length: number, id: number) => number;
  readonly layout: (what: number) => number;
}

/** The part of the WebAssembly API used here (the project's TypeScript libs do not declare it). */
interface WasmApi {
  readonly Module: new (bytes: Uint8Array) => object;
  readonly Instance: new (module: object, imports: object) => { readonly exports: unknown };
}

let scanner: Scanner | null | undefined;

/** The scanner, instantiated on first use; `null` when WebAssembly is unavailable here. */
function getScanner(): Scanner | null {
  if (scanner !== undefined) return scanner;
  try {
    const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
    const module = new wasm.Module(Buffer.from(JSON_SCANNER_WASM_BASE64, 'base64'));
    const instance = new wasm.Instance(module, {
      env: {
        abort: () => {
          throw new Error('json scanner aborted');
        },
      },
    });
    const exports = instance.exports as unknown as ScannerExports;
    exports.init();
    // The memory has a fixed size (initial = maximum), so these views never go stale.
    const bytes = new Uint8Array(exports.memory.buffer);
    const keyTable = exports.layout(1);
    let offset = 0;
    KEYS.forEach((key, index) => {
      for (let i = 0; i < key.length; i++) bytes[keyTable + offset + i] = key.charCodeAt(i);
      if (exports.addKey(offset, key.length, index + 1) !== 1)
        throw new Error('json scanner: key table full');
      offset += key.length;
    });
    scanner = {
      scan: exports.scan,
      bytes,
      buffer: Buffer.from(exports.memory.buffer),
      tape: new Int32Array(exports.memory.buffer, exports.layout(3), exports.layout(4) * 4),
      // Room for the 0 byte the scanner appends, and for its 8-byte reads past it.
      maxInput: exports.layout(0) - 16,
    };
  } catch {
    scanner = null;
  }
  return scanner;
}

const encoder = new TextEncoder();

/** A string of its own equal to `value` (which may be a view on a larger string). */
function copyString(value: string): string {
  return Buffer.from(value, 'latin1').toString('latin1');
}

/** Thrown inside the reader when a field is not of a type it reads exactly as JSON.parse would. */
const DECLINE = new Error('declined');

/**
 * For the text of an `ECS Task State Change` event (as an SQS body carries it), an object with the
 * fields `parseEventObject` reads, valued as `JSON.parse` would value them; `undefined` for anything
 * else, or anything this reader declines (the caller then uses `JSON.parse`).
 */
export function readTaskEvent(text: string): Record<string, unknown> | undefined {
  const s = getScanner();
  if (s === null || text.length > s.maxInput) return undefined;
  try {
    const { read, written } = encoder.encodeInto(text, s.bytes.subarray(0, s.maxInput));
    if (read !== text.length || s.scan(written) < 0) return undefined;
    return new TapeReader(s, text).envelope();
  } catch {
    // DECLINE, or anything unforeseen (a WebAssembly trap): the JSON.parse route reads the text.
    return undefined;
  }
}

/**
 * Strings: the scanner accepts ASCII only, so byte offsets are the text's character offsets, and
 * `text.slice` gives a field's string for a few ns. V8 makes a substring of 13 or more characters a
 * view on the whole text, though, which would keep every 1.8 KB text alive in the store. So strings
 * that outlive the message are copies: `#own` (task ARN, event id, addresses: a fresh copy from the
 * scanner's memory) and `#shared` (strings many tasks share: the interned copy, made once); the
 * rest (timestamps, ENI detail names, other details' values) are views that die with the message.
 */
class TapeReader {
  readonly #tape: Int32Array;
  readonly #bytes: Uint8Array;
  readonly #buffer: Buffer;
  readonly #text: string;

  constructor(s: Scanner, text: string) {
    this.#tape = s.tape;
    this.#bytes = s.bytes;
    this.#buffer = s.buffer;
    this.#text = text;
  }

  #kind(entry: number): number {
    return this.#tape[entry * 4]! & 15;
  }

  #key(entry: number): number {
    return this.#tape[entry * 4]! >>> 4;
  }

  #next(entry: number): number {
    return this.#tape[entry * 4 + 3]!;
  }

  /** The string at `entry`, as a view on the text: only for values the store does not keep. */
  #string(entry: number): string {
    return this.#text.slice(this.#tape[entry * 4 + 1]!, this.#tape[entry * 4 + 2]!);
  }

  /** The string at `entry`, as a string of its own. */
  #own(entry: number): string {
    const start = this.#tape[entry * 4 + 1]!;
    const end = this.#tape[entry * 4 + 2]!;
    // Below 13 characters V8 copies a substring anyway.
    return end - start < 13 ? this.#text.slice(start, end) : this.#buffer.toString('latin1', start, end);
  }

  /** The string at `entry` as the interned copy many tasks share (see intern.ts). */
  #shared(entry: number): string {
    return internCopy(this.#string(entry), copyString);
  }

  /** A kept string (`#own` or `#shared`; a view when `transient`), or null; anything else declines. */
  #nullishKept(entry: number, shared: boolean, transient = false): string | null {
    const kind = this.#kind(entry);
    if (kind === KIND_STRING) {
      return transient ? this.#string(entry) : shared ? this.#shared(entry) : this.#own(entry);
    }
    if (kind === KIND_NULL) return null;
    throw DECLINE;
  }

  #number(entry: number): number {
    return Number(this.#string(entry));
  }

  /** True when the string at `entry` is exactly `expected` (compared in place, no string made). */
  #stringIs(entry: number, expected: string): boolean {
    const start = this.#tape[entry * 4 + 1]!;
    if (this.#tape[entry * 4 + 2]! - start !== expected.length) return false;
    for (let i = 0; i < expected.length; i++) {
      if (this.#bytes[start + i] !== expected.charCodeAt(i)) return false;
    }
    return true;
  }

  /** A string, or null; anything else declines. */
  #nullishString(entry: number): string | null {
    const kind = this.#kind(entry);
    if (kind === KIND_STRING) return this.#string(entry);
    if (kind === KIND_NULL) return null;
    throw DECLINE;
  }

  /** A number, or null; anything else declines. */
  #nullishNumber(entry: number): number | null {
    const kind = this.#kind(entry);
    if (kind === KIND_NUMBER) return this.#number(entry);
    if (kind === KIND_NULL) return null;
    throw DECLINE;
  }

  /** A timestamp field: string, number or null as JSON.parse gives them; anything else declines. */
  #timestamp(entry: number): string | number | null {
    const kind = this.#kind(entry);
    if (kind === KIND_STRING) return this.#string(entry);
    if (kind === KIND_NUMBER) return this.#number(entry);
    if (kind === KIND_NULL) return null;
    throw DECLINE;
  }

  envelope(): Record<string, unknown> | undefined {
    let source = -1;
    let detailType = -1;
    let detail = -1;
    let id: string | null | undefined;
    let time: string | number | null | undefined;
    // Members in order, so later duplicates win, as with JSON.parse.
    const end = this.#next(0);
    for (let m = 1; m < end; m = this.#next(m)) {
      switch (this.#key(m)) {
        case ID.source:
          source = m;
          break;
        case ID['detail-type']:
          detailType = m;
          break;
        case ID.id:
          // Kept as its own string: the event carries it (`eventId`), whoever holds on to that.
          id = this.#nullishKept(m, false);
          break;
        case ID.time:
          time = this.#timestamp(m);
          break;
        case ID.detail:
          detail = m;
          break;
        case ID.Type:
          return undefined; // an SNS envelope: the JSON.parse route unwraps it
      }
    }
    if (
      source < 0 ||
      detailType < 0 ||
      detail < 0 ||
      this.#kind(source) !== KIND_STRING ||
      this.#kind(detailType) !== KIND_STRING ||
      !this.#stringIs(source, ECS_SOURCE) ||
      !this.#stringIs(detailType, TASK_STATE_CHANGE) ||
      this.#kind(detail) !== KIND_OBJECT
    ) {
      return undefined;
    }
    // Every object below is one literal with all its fields, `undefined` where the JSON has none:
    // the parser tests fields against undefined/null and reads nothing else, so an absent field and
    // an undefined one read the same, and the objects keep one shape whatever the member order.
    return { source: ECS_SOURCE, 'detail-type': TASK_STATE_CHANGE, id, time, detail: this.#task(detail) };
  }

  #task(entry: number): Record<string, unknown> {
    let taskArn: string | null | undefined;
    let clusterArn: string | null | undefined;
    let taskDefinitionArn: string | null | undefined;
    let lastStatus: string | null | undefined;
    let desiredStatus: string | null | undefined;
    let version: number | null | undefined;
    let group: string | null | undefined;
    let healthStatus: string | null | undefined;
    let launchType: string | null | undefined;
    let containerInstanceArn: string | null | undefined;
    let stoppedReason: string | null | undefined;
    let stopCode: string | null | undefined;
    let attachments: unknown[] | null | undefined;
    let containers: unknown[] | null | undefined;
    let updatedAt: string | number | null | undefined;
    let createdAt: string | number | null | undefined;
    const end = this.#next(entry);
    for (let m = entry + 1; m < end; m = this.#next(m)) {
      switch (this.#key(m)) {
        case ID.taskArn:
          taskArn = this.#nullishKept(m, false);
          break;
        case ID.clusterArn:
          clusterArn = this.#nullishKept(m, true);
          break;
        case ID.taskDefinitionArn:
          taskDefinitionArn = this.#nullishKept(m, true);
          break;
        case ID.lastStatus:
          lastStatus = this.#nullishKept(m, true);
          break;
        case ID.desiredStatus:
          desiredStatus = this.#nullishKept(m, true);
          break;
        case ID.version:
          version = this.#nullishNumber(m);
          break;
        case ID.group:
          group = this.#nullishKept(m, true);
          break;
        case ID.healthStatus:
          healthStatus = this.#nullishKept(m, true);
          break;
        case ID.launchType:
          launchType = this.#nullishKept(m, true);
          break;
        case ID.containerInstanceArn:
          containerInstanceArn = this.#nullishKept(m, true);
          break;
        case ID.stoppedReason:
          stoppedReason = this.#nullishKept(m, false);
          break;
        case ID.stopCode:
          stopCode = this.#nullishKept(m, false);
          break;
        case ID.attachments:
          attachments = this.#list(m, LIST_ATTACHMENTS);
          break;
        case ID.containers:
          containers = this.#list(m, LIST_CONTAINERS);
          break;
        case ID.updatedAt:
          updatedAt = this.#timestamp(m);
          break;
        case ID.createdAt:
          createdAt = this.#timestamp(m);
          break;
      }
    }
    return {
      taskArn,
      clusterArn,
      taskDefinitionArn,
      lastStatus,
      desiredStatus,
      version,
      group,
      healthStatus,
      launchType,
      containerInstanceArn,
      stoppedReason,
      stopCode,
      attachments,
      containers,
      updatedAt,
      createdAt,
    };
  }

  /** An array of attachments, containers, … (by `what`), or null; anything else declines. */
  #list(entry: number, what: number): unknown[] | null {
    const kind = this.#kind(entry);
    if (kind === KIND_NULL) return null;
    if (kind !== KIND_ARRAY) throw DECLINE;
    const out: unknown[] = [];
    const end = this.#next(entry);
    for (let e = entry + 1; e < end; e = this.#next(e)) {
      switch (what) {
        case LIST_ATTACHMENTS:
          out.push(this.#attachment(e));
          break;
        case LIST_DETAILS:
          out.push(this.#detail(e));
          break;
        case LIST_CONTAINERS:
          out.push(this.#container(e));
          break;
        case LIST_INTERFACES:
          out.push(this.#networkInterface(e));
          break;
        default:
          out.push(this.#binding(e));
      }
    }
    return out;
  }

  #attachment(entry: number): Record<string, unknown> {
    if (this.#kind(entry) !== KIND_OBJECT) throw DECLINE;
    let type: string | null | undefined;
    let details: unknown[] | null | undefined;
    const end = this.#next(entry);
    for (let m = entry + 1; m < end; m = this.#next(m)) {
      const key = this.#key(m);
      if (key === ID.type) type = this.#nullishString(m);
      else if (key === ID.details) details = this.#list(m, LIST_DETAILS);
    }
    return { type, details };
  }

  /** An ENI detail `{name, value}`; anything but an object is kept as null (the parser skips both). */
  #detail(entry: number): Record<string, unknown> | null {
    if (this.#kind(entry) !== KIND_OBJECT) return null;
    let nameAt = -1;
    let valueAt = -1;
    const end = this.#next(entry);
    for (let m = entry + 1; m < end; m = this.#next(m)) {
      const key = this.#key(m);
      if (key === ID.name) nameAt = m;
      else if (key === ID.value) valueAt = m;
    }
    // Only a string name can match; any other is read as null, which matches no name either.
    const name = nameAt < 0 ? undefined : this.#kind(nameAt) === KIND_STRING ? this.#string(nameAt) : null;
    // Only the address is kept (by the snapshot); the other details' values die with the message.
    const value = valueAt < 0 ? undefined : this.#nullishKept(valueAt, false, name !== ENI_ADDRESS_DETAIL);
    return { name, value };
  }

  #container(entry: number): Record<string, unknown> {
    if (this.#kind(entry) !== KIND_OBJECT) throw DECLINE;
    let name: string | undefined;
    let lastStatus: string | null | undefined;
    let healthStatus: string | null | undefined;
    let networkInterfaces: unknown[] | null | undefined;
    let networkBindings: unknown[] | null | undefined;
    const end = this.#next(entry);
    for (let m = entry + 1; m < end; m = this.#next(m)) {
      switch (this.#key(m)) {
        case ID.name:
          if (this.#kind(m) !== KIND_STRING) throw DECLINE;
          name = this.#shared(m);
          break;
        case ID.lastStatus:
          lastStatus = this.#nullishKept(m, true);
          break;
        case ID.healthStatus:
          healthStatus = this.#nullishKept(m, true);
          break;
        case ID.networkInterfaces:
          networkInterfaces = this.#list(m, LIST_INTERFACES);
          break;
        case ID.networkBindings:
          networkBindings = this.#list(m, LIST_BINDINGS);
          break;
      }
    }
    return { name, lastStatus, healthStatus, networkInterfaces, networkBindings };
  }

  /** A network interface `{privateIpv4Address}`; anything but an object is kept as null (skipped). */
  #networkInterface(entry: number): Record<string, unknown> | null {
    if (this.#kind(entry) !== KIND_OBJECT) return null;
    let privateIpv4Address: string | null | undefined;
    const end = this.#next(entry);
    for (let m = entry + 1; m < end; m = this.#next(m)) {
      if (this.#key(m) === ID.privateIpv4Address) privateIpv4Address = this.#nullishKept(m, false);
    }
    return { privateIpv4Address };
  }

  #binding(entry: number): Record<string, unknown> {
    if (this.#kind(entry) !== KIND_OBJECT) throw DECLINE;
    let bindIP: string | null | undefined;
    let containerPort: number | null | undefined;
    let hostPort: number | null | undefined;
    let protocol: string | null | undefined;
    const end = this.#next(entry);
    for (let m = entry + 1; m < end; m = this.#next(m)) {
      switch (this.#key(m)) {
        case ID.bindIP:
          bindIP = this.#nullishKept(m, false);
          break;
        case ID.containerPort:
          containerPort = this.#nullishNumber(m);
          break;
        case ID.hostPort:
          hostPort = this.#nullishNumber(m);
          break;
        case ID.protocol:
          protocol = this.#nullishKept(m, false);
          break;
      }
    }
    return { bindIP, containerPort, hostPort, protocol };
  }
}

const LIST_ATTACHMENTS = 1;
const LIST_DETAILS = 2;
const LIST_CONTAINERS = 3;
const LIST_INTERFACES = 4;
const LIST_BINDINGS = 5;

/** Whether the WebAssembly scanner loaded here (else every body takes the `JSON.parse` route). */
export function jsonScannerAvailable(): boolean {
  return getScanner() !== null;
}
