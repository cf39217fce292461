/**
 * One side of a stream-stream join in memory: the times of the records its window store
 * holds, per key, sorted, so the other side finds the records it joins by binary search
 * with no store scan on the record path. Both join nodes of a task use the same buffer of
 * a store (they meet through the store object), built once from the store at init.
 */
import type { WindowStore } from '../../state/api.js';
import { keyIdentity } from './key-identity.js';
import { between, insert, remove } from './sorted-times.js';

/** What a join side stores per key and time: the records' values, and whether each joined. */
export interface Held {
  v: unknown;
  /** Set once the record joined a record of the other side (tracked for left and outer joins). */
  m?: 1;
}

export class JoinBuffer {
  private readonly times = new Map<unknown, number[]>();
  /** What the store held at load, for the side that owns it to schedule (taken once). */
  private loaded: Array<{ key: unknown; time: number }> | undefined = [];

  constructor(readonly store: WindowStore<unknown, Held[]>) {}

  /** Indexes what the store holds (after a restore). */
  async load(): Promise<void> {
    for await (const w of this.store.fetchAll(Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER)) {
      this.add(w.key, w.windowStart);
      this.loaded!.push({ key: w.key, time: w.windowStart });
    }
  }

  /** The (key, time) slots the store held when loaded; the owning side takes them once. */
  takeLoaded(): Array<{ key: unknown; time: number }> {
    const out = this.loaded ?? [];
    this.loaded = undefined;
    return out;
  }

  /** Notes that `key` has records at `time`; false when it had some already. */
  add(key: unknown, time: number): boolean {
    const id = keyIdentity(key);
    const list = this.times.get(id);
    if (!list) {
      this.times.set(id, [time]);
      return true;
    }
    return insert(list, time);
  }

  forget(key: unknown, time: number): void {
    const id = keyIdentity(key);
    const list = this.times.get(id);
    if (!list) return;
    remove(list, time);
    if (!list.length) this.times.delete(id);
  }

  /** Times of `key`'s records in [lo, hi], ascending. */
  timesIn(key: unknown, lo: number, hi: number): number[] {
    const list = this.times.get(keyIdentity(key));
    return list ? between(list, lo, hi) : [];
  }

  entries(key: unknown, time: number): Held[] {
    return this.store.fetch(key, time) ?? [];
  }
}

const buffers = new WeakMap<object, Promise<JoinBuffer>>();

/** The buffer of `store`: one per store object, so both join nodes of a task share it. */
export function joinBuffer(store: WindowStore<unknown, Held[]>): Promise<JoinBuffer> {
  const known = buffers.get(store);
  if (known) return known;
  const b = new JoinBuffer(store);
  const ready = b.load().then(() => b);
  buffers.set(store, ready);
  return ready;
}
