import { describe, expect, it } from 'vitest';
import { SortedSet } from './sorted-set.js';

/** A deterministic pseudo-random generator, so failures reproduce. */
function rng(seed: number): () => number {
  let s = seed;
  return () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
}

describe('SortedSet', () => {
  it('matches a sorted array through random adds and deletes (chunks split and empty)', () => {
    const rand = rng(7);
    const set = new SortedSet();
    const ref = new Set<string>();
    for (let i = 0; i < 20_000; i++) {
      const k = String.fromCharCode(...Array.from({ length: 3 }, () => Math.floor(rand() * 256)));
      if (rand() < 0.65) {
        expect(set.add(k)).toBe(!ref.has(k));
        ref.add(k);
      } else {
        expect(set.delete(k)).toBe(ref.has(k));
        ref.delete(k);
      }
    }
    const sorted = [...ref].sort();
    expect(set.size).toBe(sorted.length);
    expect([...set.from()]).toEqual(sorted);
    const lo = sorted[100]!;
    const hi = sorted[900]!;
    expect([...set.from(lo, (k) => k <= hi)]).toEqual(sorted.slice(100, 901));
    expect(set.has(lo)).toBe(true);
  });

  it('keeps iterating correctly while keys are added and deleted', () => {
    const set = new SortedSet();
    for (let i = 0; i < 3000; i += 2) set.add(String(i).padStart(5, '0'));
    const seen: string[] = [];
    for (const k of set.from()) {
      seen.push(k);
      const n = Number(k);
      set.delete(String(n + 2).padStart(5, '0')); // ahead: never returned
      set.add(String(n + 1).padStart(5, '0')); // ahead: returned next
      set.delete(k); // the current key
    }
    // Each step adds n+1 and removes n+2, so the walk visits every number once, in order.
    expect(seen.length).toBeGreaterThan(2900);
    expect(seen).toEqual(seen.map((_, i) => String(i).padStart(5, '0')));
  });
});
