import { describe, expect, it } from 'vitest';
import { backoffCeiling, backoffDelay } from './backoff.js';
import { prng } from '../finnhub/prng.js';

const o = { initialMs: 500, maxMs: 30_000 };

describe('reconnect backoff', () => {
  it('doubles its ceiling per attempt up to the cap', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 7, 100, 10_000].map((a) => backoffCeiling(a, o))).toEqual([
      500, 1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000, 30_000,
    ]);
  });

  it('never waits longer than the cap, even at the top of the jitter', () => {
    for (const attempt of [0, 3, 6, 50, 1e6]) {
      expect(backoffDelay(attempt, o, () => 0.999_999_999)).toBeLessThanOrEqual(
        backoffCeiling(attempt, o),
      );
      expect(backoffDelay(attempt, o, () => 0)).toBe(0);
    }
    expect(backoffDelay(1e6, o, () => 0.999_999_999)).toBe(30_000);
  });

  it('draws full jitter: spread uniformly over [0, ceiling]', () => {
    const rnd = prng(3);
    const draws = Array.from({ length: 20_000 }, () => backoffDelay(4, o, rnd));
    const ceiling = backoffCeiling(4, o);
    const mean = draws.reduce((a, b) => a + b, 0) / draws.length;
    expect(Math.min(...draws)).toBeLessThan(ceiling * 0.01);
    expect(Math.max(...draws)).toBeGreaterThan(ceiling * 0.99);
    expect(mean / ceiling).toBeGreaterThan(0.48);
    expect(mean / ceiling).toBeLessThan(0.52);
    const lowerHalf = draws.filter((d) => d < ceiling / 2).length / draws.length;
    expect(lowerHalf).toBeGreaterThan(0.48);
    expect(lowerHalf).toBeLessThan(0.52);
    expect(new Set(draws).size).toBeGreaterThan(5000);
  });
});
