/**
 * Sorted arrays of distinct numbers (record times, window starts) that the windowed
 * processors keep in memory per key: found, added and removed by binary search.
 */

/** Index of the first element of sorted `a` that is >= `x`. */
export function lowerBound(a: readonly number[], x: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (a[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Adds `x` to sorted `a` in its place; false when `a` held it already. */
export function insert(a: number[], x: number): boolean {
  const i = lowerBound(a, x);
  if (a[i] === x) return false;
  a.splice(i, 0, x);
  return true;
}

/** Removes `x` from sorted `a`, if it is there. */
export function remove(a: number[], x: number): void {
  const i = lowerBound(a, x);
  if (a[i] === x) a.splice(i, 1);
}

/** Elements of sorted `a` in [lo, hi]. */
export function between(a: readonly number[], lo: number, hi: number): number[] {
  return a.slice(lowerBound(a, lo), lowerBound(a, hi + 1));
}
