/**
 * A validating JSON scanner in AssemblyScript, compiled to WebAssembly (scripts/build-wasm.mjs →
 * src/parse/json-scanner.wasm.ts). `JSON.parse` builds every object and string of a 1.8 KB ECS
 * event, though the parser reads about twenty fields of it; this scanner checks the whole text
 * against the JSON grammar (RFC 8259) and writes a "tape": one entry per value, with the byte range
 * of the value, the id of the member key it sits under (for keys registered with `addKey`), and the
 * index of the entry after its subtree, so the reader (src/parse/json-tape.ts) jumps over what it
 * does not need. It declines (returns -1) whatever it does not handle, and the caller then uses
 * `JSON.parse`: invalid JSON, escapes in strings, non-ASCII bytes, nesting deeper than 64, more
 * than 8,192 values, or more than 256 KiB.
 *
 * Memory (one fixed 1 MiB memory; the compiler's own data sits above 768 KiB):
 *   [0, 256 KiB)           the input, UTF-8, followed by one 0 byte written by `scan`
 *   KEYTAB (4 KiB)          registered key bytes (written by the reader)
 *   HASHTAB (256 × 8 B)     key lookup table: (offset << 8 | length, id)
 *   TAPE (8,192 × 16 B)     entries: kind | key id << 4, start, end, next
 *   CLASS (256 B)           byte classes inside strings
 */
const INPUT: i32 = 0;
const MAX_INPUT: i32 = 1 << 18;
const KEYTAB: i32 = MAX_INPUT;
const KEYTAB_SIZE: i32 = 4096;
const HASHTAB: i32 = KEYTAB + KEYTAB_SIZE;
const HASH_SLOTS: i32 = 256;
const TAPE: i32 = HASHTAB + HASH_SLOTS * 8;
const MAX_TAPE: i32 = 8192;
/** 256 bytes: the class of every byte inside a string: 0 plain, 1 quote, 2 anything that ends the fast path. */
const CLASS: i32 = TAPE + MAX_TAPE * 16;
const MAX_DEPTH: i32 = 64;

const KIND_OBJECT: i32 = 1;
const KIND_ARRAY: i32 = 2;
const KIND_STRING: i32 = 3;
const KIND_NUMBER: i32 = 4;
const KIND_TRUE: i32 = 5;
const KIND_FALSE: i32 = 6;
const KIND_NULL: i32 = 7;

let len: i32 = 0;
let count: i32 = 0;

export function layout(what: i32): i32 {
  if (what == 0) return MAX_INPUT;
  if (what == 1) return KEYTAB;
  if (what == 2) return KEYTAB_SIZE;
  if (what == 3) return TAPE;
  return MAX_TAPE;
}

/** A cheap hash of a key: its length and three of its bytes (the lookup compares the bytes anyway). */
@inline function hash(start: i32, end: i32): u32 {
  const length = end - start;
  if (length == 0) return 0;
  const h = (<u32>length * 0x9e3779b1) ^ (<u32>load<u8>(start) * 0x85ebca6b) ^ (<u32>load<u8>(end - 1) * 0xc2b2ae35) ^ (<u32>load<u8>(start + (length >> 1)) * 0x27d4eb2f);
  return h ^ (h >>> 15);
}

/** Fills the byte-class table; call once before scanning. */
export function init(): void {
  for (let c = 0; c < 256; c++) {
    store<u8>(CLASS + c, c == 0x22 ? 1 : c < 0x20 || c == 0x5c || c >= 0x80 ? 2 : 0);
  }
}

/** Registers key `id` (1..) whose bytes JS wrote at KEYTAB + offset. */
export function addKey(offset: i32, length: i32, id: i32): i32 {
  const start = KEYTAB + offset;
  let slot = <i32>(hash(start, start + length) & <u32>(HASH_SLOTS - 1));
  for (let probe = 0; probe < HASH_SLOTS; probe++) {
    const at = HASHTAB + slot * 8;
    if (load<i32>(at) == 0) {
      store<i32>(at, (offset << 8) | length);
      store<i32>(at + 4, id);
      return 1;
    }
    slot = (slot + 1) & (HASH_SLOTS - 1);
  }
  return 0;
}

/** True when the `length` bytes at `a` and `b` are equal (8 at a time; reads up to 7 bytes past both). */
@inline function sameBytes(a: i32, b: i32, length: i32): bool {
  let i = 0;
  for (; i + 8 <= length; i += 8) {
    if (load<u64>(a + i) != load<u64>(b + i)) return false;
  }
  if (i == length) return true;
  const mask: u64 = (<u64>1 << (<u64>(length - i) * 8)) - 1;
  return ((load<u64>(a + i) ^ load<u64>(b + i)) & mask) == 0;
}

function lookup(start: i32, end: i32): i32 {
  const length = end - start;
  if (length > 255) return 0;
  let slot = <i32>(hash(start, end) & <u32>(HASH_SLOTS - 1));
  for (let probe = 0; probe < HASH_SLOTS; probe++) {
    const at = HASHTAB + slot * 8;
    const packed = load<i32>(at);
    if (packed == 0) return 0;
    if ((packed & 255) == length && sameBytes(KEYTAB + (packed >>> 8), start, length)) return load<i32>(at + 4);
    slot = (slot + 1) & (HASH_SLOTS - 1);
  }
  return 0;
}

@inline function ws(p: i32): i32 {
  // The 0 byte after the input is not white space.
  let c = load<u8>(p);
  while (c == 0x20 || c == 0x0a || c == 0x0d || c == 0x09) c = load<u8>(++p);
  return p;
}

/** From just after an opening quote: the index of the closing quote, or -1 (control character, escape, non-ASCII, end). */
const ONES: u64 = 0x0101010101010101;
const HIGHS: u64 = 0x8080808080808080;

function str(p: i32): i32 {
  // Eight bytes at a time while none of them is a quote, a backslash, a control byte or non-ASCII
  // (the test reads up to 7 bytes past the 0 byte that ends the input: still inside our memory).
  while (true) {
    const x = load<u64>(p);
    const quote = x ^ 0x2222222222222222;
    const slash = x ^ 0x5c5c5c5c5c5c5c5c;
    const special =
      ((quote - ONES) & ~quote) | ((slash - ONES) & ~slash) | ((x - 0x2020202020202020) & ~x) | x;
    if ((special & HIGHS) != 0) break;
    p += 8;
  }
  // The input ends with a 0 byte (class 2), so the loop needs no bounds check.
  let k = load<u8>(CLASS + load<u8>(p));
  while (k == 0) {
    p++;
    k = load<u8>(CLASS + load<u8>(p));
  }
  return k == 1 ? p : -1;
}

@inline function digit(c: i32): bool {
  return c >= 0x30 && c <= 0x39;
}

function num(p: i32): i32 {
  if (p < len && load<u8>(p) == 0x2d) p++;
  if (p >= len) return -1;
  let c = <i32>load<u8>(p);
  if (c == 0x30) p++;
  else if (c >= 0x31 && c <= 0x39) {
    p++;
    while (p < len && digit(load<u8>(p))) p++;
  } else return -1;
  if (p < len && load<u8>(p) == 0x2e) {
    p++;
    if (p >= len || !digit(load<u8>(p))) return -1;
    while (p < len && digit(load<u8>(p))) p++;
  }
  if (p < len) {
    c = load<u8>(p);
    if (c == 0x65 || c == 0x45) {
      p++;
      if (p < len) {
        c = load<u8>(p);
        if (c == 0x2b || c == 0x2d) p++;
      }
      if (p >= len || !digit(load<u8>(p))) return -1;
      while (p < len && digit(load<u8>(p))) p++;
    }
  }
  return p;
}

@inline function put(at: i32, kind: i32, key: i32, start: i32, end: i32): void {
  const e = TAPE + at * 16;
  store<i32>(e, kind | (key << 4));
  store<i32>(e + 4, start);
  store<i32>(e + 8, end);
  store<i32>(e + 12, count);
}

@inline function lit(p: i32, a: i32, b: i32, c: i32, d: i32, n: i32): bool {
  if (p + n > len) return false;
  if (load<u8>(p) != a || load<u8>(p + 1) != b || load<u8>(p + 2) != c) return false;
  if (n == 4) return load<u8>(p + 3) == d;
  return load<u8>(p + 3) == d && load<u8>(p + 4) == 0x65;
}

/**
 * The object (`{`, `object`) or array (`[`) at `p`, whose tape entry is `at`: scans its members or
 * elements, then writes the entry; returns the index after its end, or -1.
 */
function container(p: i32, at: i32, key: i32, depth: i32, object: bool): i32 {
  if (depth >= MAX_DEPTH) return -1;
  const close: i32 = object ? 0x7d : 0x5d;
  let q = ws(p + 1);
  if (q < len && load<u8>(q) == close) {
    q++;
  } else {
    while (true) {
      let id = 0;
      if (object) {
        if (q >= len || load<u8>(q) != 0x22) return -1;
        const ke = str(q + 1);
        if (ke < 0) return -1;
        id = lookup(q + 1, ke);
        q = ws(ke + 1);
        if (q >= len || load<u8>(q) != 0x3a) return -1;
        q = ws(q + 1);
      }
      q = value(q, id, depth + 1);
      if (q < 0) return -1;
      q = ws(q);
      if (q >= len) return -1;
      const d = <i32>load<u8>(q);
      if (d == 0x2c) {
        q = ws(q + 1);
        continue;
      }
      if (d == close) {
        q++;
        break;
      }
      return -1;
    }
  }
  put(at, object ? KIND_OBJECT : KIND_ARRAY, key, p, q);
  return q;
}

function value(p: i32, key: i32, depth: i32): i32 {
  if (p >= len || count >= MAX_TAPE) return -1;
  const at = count++;
  const c = <i32>load<u8>(p);
  if (c == 0x22) {
    const e = str(p + 1);
    if (e < 0) return -1;
    put(at, KIND_STRING, key, p + 1, e);
    return e + 1;
  }
  if (c == 0x7b) return container(p, at, key, depth, true);
  if (c == 0x5b) return container(p, at, key, depth, false);
  if (c == 0x74) {
    if (!lit(p, 0x74, 0x72, 0x75, 0x65, 4)) return -1;
    put(at, KIND_TRUE, key, p, p + 4);
    return p + 4;
  }
  if (c == 0x66) {
    if (!lit(p, 0x66, 0x61, 0x6c, 0x73, 5)) return -1;
    put(at, KIND_FALSE, key, p, p + 5);
    return p + 5;
  }
  if (c == 0x6e) {
    if (!lit(p, 0x6e, 0x75, 0x6c, 0x6c, 4)) return -1;
    put(at, KIND_NULL, key, p, p + 4);
    return p + 4;
  }
  const e = num(p);
  if (e < 0) return -1;
  put(at, KIND_NUMBER, key, p, e);
  return e;
}

/** Scans `length` bytes at INPUT; returns the number of tape entries, or -1 (not plain JSON: use JSON.parse). */
export function scan(length: i32): i32 {
  if (length >= MAX_INPUT) return -1;
  len = length;
  store<u8>(INPUT + length, 0);
  count = 0;
  const p = ws(INPUT);
  if (p >= len || load<u8>(p) != 0x7b) return -1;
  const q = value(p, 0, 0);
  if (q < 0) return -1;
  if (ws(q) != len) return -1;
  return count;
}
