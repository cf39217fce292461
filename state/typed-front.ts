/**
 * The typed cache of a key-value store whose keys and values are primitives (strings,
 * numbers, booleans, bigints: a count, a sum, a latest price): the newest value of a key is
 * kept as the value itself, so a read-modify-write costs two map operations instead of a
 * trip through bytes on every record (key serialized and spelled, value decoded, then
 * encoded twice), and a flush sends each written key down once, straight to the change-
 * logging layer (one backend write and one changelog record per key, as the caching layer
 * would), without spelling it into the caching layer first.
 *
 * A put still serializes its value at once (a serde error surfaces at the put, and the
 * bytes are what goes down). Object values are not kept here (a caller could change an
 * object it read): the first object value seen hands the store back to the caching layer
 * for good (what is held goes down first), so no key is ever cached in both.
 *
 * Bounded at the caching layer's `maxEntries`: when full, what is held goes down (as the
 * caching layer writes behind when full) and the cache starts over. Used only by stores
 * with a cache: a store without one sends every put down.
 */
import type { ChangeLoggingLayer, TimedWriteOp } from './changelogging.js';
import type { WriteLayer } from './layer.js';

interface Entry<V> {
  /** The value; undefined for a key known to be absent (a miss or a delete). */
  value: V | undefined;
  /** Written since the last push down. */
  dirty: boolean;
  /** Its bytes (null for a delete) while dirty. */
  bytes: Buffer | null;
  /** Epoch ms for the changelog record, while dirty. */
  timestamp: number;
}

/** Keys and values held by value: nobody can change them behind the store's back. */
export function isPrimitive(v: unknown): boolean {
  const t = typeof v;
  return t === 'string' || t === 'number' || t === 'boolean' || t === 'bigint';
}

export class TypedFront<K, V> {
  private readonly entries = new Map<K, Entry<V>>();
  private dirty = 0;
  /** Times it was full and sent what it held down early (for tests and metrics). */
  earlyWrites = 0;

  constructor(
    private readonly layer: WriteLayer,
    private readonly logging: ChangeLoggingLayer,
    private readonly keyBytes: (key: K) => Buffer,
    private readonly maxEntries: number,
  ) {}

  /**
   * The value of `key` and whether it was known here (cache hit). A miss reads the store
   * below the caches; `decode` turns its bytes into the value, remembered when primitive.
   * Returns `{ object }` instead when the value read is an object (see handBack).
   */
  get(key: K, decode: (b: Buffer) => V): { value: V | undefined; object?: true } {
    const e = this.entries.get(key);
    if (e !== undefined) {
      this.layer.stats.hits++;
      return e;
    }
    this.layer.stats.misses++;
    const bytes = this.logging.getSync(this.keyBytes(key));
    const value = bytes === undefined ? undefined : decode(bytes);
    if (value !== undefined && !isPrimitive(value)) return { value, object: true };
    this.entries.set(key, { value, dirty: false, bytes: null, timestamp: 0 });
    if (this.entries.size > this.maxEntries) this.shrink();
    return { value };
  }

  /** Writes a primitive value (its bytes serialized already), or a delete (null bytes). */
  write(key: K, value: V | undefined, bytes: Buffer | null, timestamp: number): void {
    const e = this.entries.get(key);
    if (e === undefined) {
      this.entries.set(key, { value, dirty: true, bytes, timestamp });
      this.dirty++;
      if (this.entries.size > this.maxEntries) this.shrink();
      return;
    }
    if (!e.dirty) {
      e.dirty = true;
      this.dirty++;
    }
    e.value = value;
    e.bytes = bytes;
    e.timestamp = timestamp;
  }

  /** Sends every held write down, one op per key, in the order the keys were first cached. */
  pushDown(): void {
    if (this.dirty === 0) return;
    const ops: TimedWriteOp[] = new Array(this.dirty);
    let n = 0;
    for (const [key, e] of this.entries) {
      if (!e.dirty) continue;
      ops[n++] = { key: this.keyBytes(key), value: e.bytes, timestamp: e.timestamp };
      e.dirty = false;
      e.bytes = null;
    }
    this.dirty = 0;
    this.logging.putAll(ops);
  }

  /** Forgets everything (writes below replaced the state, or held writes are discarded). */
  clear(): void {
    this.entries.clear();
    this.dirty = 0;
  }

  /** Entries held (clean and dirty). */
  get size(): number {
    return this.entries.size;
  }

  /** Full: held writes go down, then the cache starts over. */
  private shrink(): void {
    if (this.dirty) this.earlyWrites++;
    this.pushDown();
    this.entries.clear();
  }
}

/** The caching layer's bound, if the layer is one (a store without a cache has none). */
export function cacheBound(layer: WriteLayer): number | undefined {
  const bound = (layer as { maxEntries?: unknown }).maxEntries;
  return typeof bound === 'number' ? bound : undefined;
}
