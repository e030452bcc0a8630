/**
 * A seeded xorshift32 generator for tests that walk many random cases: the same seed gives the same
 * cases on every run, so a failure can be replayed.
 * @returns `below(n)`: the next whole number in [0, n)
 */
export function seededRandom(seed: number): (n: number) => number {
  let state = seed | 0 || 1;
  return (n: number) => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) % n;
  };
}
