/**
 * A small seeded PRNG (mulberry32) and the draws the synthetic feed needs. Same seed,
 * same sequence, on every platform: only 32-bit integer arithmetic.
 */

/** Uniform [0, 1) numbers from `seed`. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A standard normal draw (Box–Muller) from `rnd`. */
export function gauss(rnd: () => number): number {
  return Math.sqrt(-2 * Math.log(rnd() || 1e-12)) * Math.cos(2 * Math.PI * rnd());
}

/** An integer in [0, n). */
export function pick(rnd: () => number, n: number): number {
  return Math.floor(rnd() * n);
}
