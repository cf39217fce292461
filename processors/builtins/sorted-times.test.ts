import { describe, expect, it } from 'vitest';
import { between, insert, lowerBound, remove } from './sorted-times.js';

describe('sorted times', () => {
  it('keep an array sorted and distinct through inserts and removes, as a set would', () => {
    const a: number[] = [];
    const ref = new Set<number>();
    let seed = 11;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2147483648) % 200;
    for (let i = 0; i < 5_000; i++) {
      const x = next();
      if (i % 3 === 2) {
        remove(a, x);
        ref.delete(x);
      } else {
        expect(insert(a, x)).toBe(!ref.has(x));
        ref.add(x);
      }
    }
    expect(a).toEqual([...ref].sort((p, q) => p - q));
    expect(between(a, 50, 120)).toEqual(a.filter((x) => x >= 50 && x <= 120));
  });

  it('lowerBound: the first index whose element is >= x (the length past the end)', () => {
    const a = [10, 20, 20, 30];
    expect([5, 10, 15, 20, 25, 30, 35].map((x) => lowerBound(a, x))).toEqual([0, 0, 1, 1, 3, 3, 4]);
  });
});
