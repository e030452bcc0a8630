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
