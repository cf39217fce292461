/**
 * An ordered set of strings: a list of sorted chunks with their last keys indexed, so
 * insert, delete and seek cost a binary search plus a splice of one small chunk, and an
 * in-order walk costs nothing extra. Keys are byte strings spelled in latin1 (one char per
 * byte), so JavaScript string order is byte order.
 *
 * Iterators survive writes made while they are open: after a change they re-seek past the
 * last key they returned, so they never skip or repeat a key that stayed in the set.
 */

const MAX_CHUNK = 512;

export class SortedSet {
  private chunks: string[][] = [];
  /** Last key of each chunk, for the binary search over chunks. */
  private lasts: string[] = [];
  private count = 0;
  private version = 0;

  get size(): number {
    return this.count;
  }

  has(key: string): boolean {
    const c = lowerBound(this.lasts, key);
    if (c === this.chunks.length) return false;
    const chunk = this.chunks[c]!;
    return chunk[lowerBound(chunk, key)] === key;
  }

  /** Adds `key`; false when it was there already. */
  add(key: string): boolean {
    if (this.chunks.length === 0) {
      this.chunks.push([key]);
      this.lasts.push(key);
      return this.added();
    }
    const c = Math.min(lowerBound(this.lasts, key), this.chunks.length - 1);
    const chunk = this.chunks[c]!;
    const i = lowerBound(chunk, key);
    if (chunk[i] === key) return false;
    chunk.splice(i, 0, key);
    if (i === chunk.length - 1) this.lasts[c] = key;
    if (chunk.length > MAX_CHUNK) this.split(c);
    return this.added();
  }

  private added(): true {
    this.count++;
    this.version++;
    return true;
  }

  private split(c: number): void {
    const chunk = this.chunks[c]!;
    const tail = chunk.splice(chunk.length >>> 1);
    this.chunks.splice(c + 1, 0, tail);
    this.lasts.splice(c, 0, chunk[chunk.length - 1]!);
  }

  /** Removes `key`; false when it was absent. */
  delete(key: string): boolean {
    const c = lowerBound(this.lasts, key);
    if (c === this.chunks.length) return false;
    const chunk = this.chunks[c]!;
    const i = lowerBound(chunk, key);
    if (chunk[i] !== key) return false;
    chunk.splice(i, 1);
    if (chunk.length === 0) {
      this.chunks.splice(c, 1);
      this.lasts.splice(c, 1);
    } else if (i === chunk.length) this.lasts[c] = chunk[i - 1]!;
    this.count--;
    this.version++;
    return true;
  }

  clear(): void {
    this.chunks = [];
    this.lasts = [];
    this.count = 0;
    this.version++;
  }

  /**
   * Keys from `from` (inclusive; or the first key) in ascending order, while `below` holds
   * (e.g. `k => k <= to`).
   */
  *from(from?: string, below?: (key: string) => boolean): Generator<string> {
    let [c, i] = this.seek(from, false);
    let seen = this.version;
    let last: string | undefined;
    while (c < this.chunks.length) {
      if (seen !== this.version) {
        [c, i] = this.seek(last, last !== undefined);
        seen = this.version;
        if (c >= this.chunks.length) return;
      }
      const chunk = this.chunks[c]!;
      if (i >= chunk.length) {
        c++;
        i = 0;
        continue;
      }
      const key = chunk[i++]!;
      if (below && !below(key)) return;
      last = key;
      yield key;
    }
  }

  /** Position of the first key >= `key` (> `key` when `after`). */
  private seek(key: string | undefined, after: boolean): [number, number] {
    if (key === undefined) return [0, 0];
    const c = lowerBound(this.lasts, key);
    if (c === this.chunks.length) return [c, 0];
    const chunk = this.chunks[c]!;
    let i = lowerBound(chunk, key);
    if (after && chunk[i] === key) i++;
    return [c, i];
  }
}

/** Index of the first element >= `x` in the sorted array `a`. */
export function lowerBound(a: readonly string[], x: string): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
