/**
 * Sharing of repeated strings across parsed observations.
 *
 * Every task observation of a cluster names the same cluster ARN, and every task of a service the
 * same task definition ARN and group. `JSON.parse` gives each observation its own copies, and the
 * store keeps the latest observation of every task, so without sharing a 10,000-task store holds
 * 10,000 copies of each (~250 bytes per task, a quarter of what a stored task costs) and the
 * young-generation GC copies them again as every new observation survives into the store.
 *
 * `intern` returns an earlier string equal to its argument when one is at hand, else the argument.
 * The table is direct-mapped (no probing, no eviction policy beyond "the last one seen wins a
 * slot") and fixed in size, so it costs one short hash and one comparison per call and can never
 * grow: a miss only means one more copy, never a wrong answer.
 */

const SLOTS = 16_384;
const table: (string | undefined)[] = new Array<string | undefined>(SLOTS).fill(undefined);

/** Characters hashed, from the end: ARNs and service names differ in their tail. */
const HASHED_TAIL = 12;

/** A string equal to `value`: an earlier copy when the table holds one. */
export function intern(value: string): string {
  return internCopy(value, itself);
}

const itself = (value: string): string => value;

/**
 * As `intern`, for a `value` that must not be kept as it is (a substring of a large text, which V8
 * may represent as a view that keeps the whole text alive): on a miss, `copy(value)` is stored and
 * returned instead.
 */
export function internCopy(value: string, copy: (value: string) => string): string {
  const slot = slotOf(value);
  const cached = table[slot];
  // `===` on strings compares their characters, so an equal copy is found whatever its origin.
  if (cached === value) return cached;
  const own = copy(value);
  table[slot] = own;
  return own;
}

function slotOf(value: string): number {
  const length = value.length;
  let hash = length;
  for (let i = length > HASHED_TAIL ? length - HASHED_TAIL : 0; i < length; i++) {
    hash = Math.imul(hash ^ value.charCodeAt(i), 0x01000193);
  }
  return (hash ^ (hash >>> 15)) & (SLOTS - 1);
}
