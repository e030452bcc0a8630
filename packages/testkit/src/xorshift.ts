/**
 * A seeded xorshift32 generator for tests and benchmarks that walk many random cases: the same seed
 * gives the same cases on every run, so a failure (or a figure) can be reproduced.
 * @returns the next number in [0, 1) at each call
 */
export function xorshift(seed: number): () => number {
  let x = seed;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
}

/** Whole numbers in [0, n) from `xorshift(seed)`: `below(n)` at each call. */
export function xorshiftBelow(seed: number): (n: number) => number {
  const next = xorshift(seed);
  return (n) => Math.floor(next() * n);
}

/** A copy of `items` in the order a Fisher–Yates shuffle driven by `random` ([0, 1)) gives. */
export function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}
