/**
 * Items due at a time, taken in time order (a binary min-heap): what the windowed
 * processors close, the joins emit unmatched and the suppression buffer releases. Items
 * are not removed when they stop mattering (a session merged away, a buffered value
 * replaced): the taker checks each against its own state, which keeps every update O(log n).
 */
export class TimeQueue<T> {
  private readonly times: number[] = [];
  private readonly items: T[] = [];

  get size(): number {
    return this.times.length;
  }

  /** The earliest time queued, or +Infinity when empty. */
  earliest(): number {
    return this.times.length ? this.times[0]! : Number.POSITIVE_INFINITY;
  }

  push(time: number, item: T): void {
    this.times.push(time);
    this.items.push(item);
    this.up(this.times.length - 1);
  }

  /** Removes and returns the items due at or before `bound`, earliest first (ties: insertion order not kept). */
  takeUpTo(bound: number): T[] {
    const out: T[] = [];
    while (this.times.length && this.times[0]! <= bound) out.push(this.pop());
    return out;
  }

  private pop(): T {
    const top = this.items[0]!;
    const lastTime = this.times.pop()!;
    const lastItem = this.items.pop()!;
    if (this.times.length) {
      this.times[0] = lastTime;
      this.items[0] = lastItem;
      this.down(0);
    }
    return top;
  }

  private up(i: number): void {
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (this.times[p]! <= this.times[i]!) return;
      this.swap(i, p);
      i = p;
    }
  }

  private down(i: number): void {
    const n = this.times.length;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < n && this.times[l]! < this.times[m]!) m = l;
      if (r < n && this.times[r]! < this.times[m]!) m = r;
      if (m === i) return;
      this.swap(i, m);
      i = m;
    }
  }

  private swap(a: number, b: number): void {
    [this.times[a], this.times[b]] = [this.times[b]!, this.times[a]!];
    [this.items[a], this.items[b]] = [this.items[b]!, this.items[a]!];
  }
}
