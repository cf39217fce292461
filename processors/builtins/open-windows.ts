/**
 * The windows a window aggregate has not closed yet: window start → keys. Closing asks
 * for every window whose start is at or before a bound, oldest first, so the per-record
 * path is one map insert and the close check one comparison with the earliest start.
 */

/** Primitive keys are their own identity; others (objects) are compared by their JSON. */
const identity = (key: unknown): unknown =>
  key !== null && typeof key === 'object' ? JSON.stringify(key) : key;

const byIdentity = ([a]: [unknown, unknown], [b]: [unknown, unknown]) =>
  String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0;

export class OpenWindows<K = unknown> {
  private readonly byStart = new Map<number, Map<unknown, K>>();
  /** Window starts, ascending. */
  private starts: number[] = [];

  get size(): number {
    return this.starts.length;
  }

  /** The earliest open window start, or +Infinity when none is open. */
  earliest(): number {
    return this.starts.length ? this.starts[0]! : Number.POSITIVE_INFINITY;
  }

  add(start: number, key: K): void {
    let keys = this.byStart.get(start);
    if (!keys) {
      keys = new Map();
      this.byStart.set(start, keys);
      this.insertStart(start);
    }
    keys.set(identity(key), key);
  }

  private insertStart(start: number): void {
    const s = this.starts;
    // Windows mostly open in time order: appending is the common case.
    if (!s.length || s[s.length - 1]! < start) s.push(start);
    else {
      s.push(start);
      s.sort((a, b) => a - b);
    }
  }

  /** Removes and returns the windows with start <= `maxStart`, oldest first, keys in a stable order. */
  takeUpTo(maxStart: number): Array<{ start: number; keys: K[] }> {
    const out: Array<{ start: number; keys: K[] }> = [];
    let i = 0;
    for (; i < this.starts.length && this.starts[i]! <= maxStart; i++) {
      const start = this.starts[i]!;
      const keys = [...this.byStart.get(start)!].sort(byIdentity).map(([, k]) => k);
      this.byStart.delete(start);
      out.push({ start, keys });
    }
    if (i) this.starts = this.starts.slice(i);
    return out;
  }
}
