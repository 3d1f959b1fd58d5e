/**
 * Deterministic pseudo-random numbers in [0, 1) (a 32-bit linear congruential generator), for
 * demo data that is the same on every machine and for repeatable randomized tests.
 */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}
