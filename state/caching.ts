/**
 * The caching layer: serves reads synchronously from memory where it can, and collapses
 * repeated writes to one key between flushes into one backend write and one changelog
 * record.
 *
 * Bounded at `maxEntries` (clean and dirty, cached misses included). Past the bound, clean
 * entries are evicted by CLOCK (a used bit instead of reordering the map on every hit);
 * when dirty entries are over half the bound they are first written behind — sent down
 * as one batch without awaiting, exactly as a flush would — so none is ever lost, and the
 * backend serves them to reads until they land.
 *
 * Keys and values are held as byte strings (one char per byte), not as the Buffers handed
 * in: a small Buffer is usually a slice of one of Node's shared 8 KiB pool slabs, and one
 * slice kept for long keeps its whole slab alive. A cache of 10,000 entries with keys and
 * values from different slabs could pin up to 2 × 8 KiB per entry; strings cost their
 * length plus a small header. Reads and flushes make Buffers again (short-lived).
 */
import { byteStringBounds, byteString, fromByteString, type ScanRange } from './backend/backend.js';
import { SortedSet } from './backend/sorted-set.js';
import type { ChangeLoggingLayer, TimedWriteOp } from './changelogging.js';
import type { CachedEntry, WriteLayer } from './layer.js';

interface Entry {
  /** The value's byte string; `null` is a cached delete, or (when clean) a cached miss. */
  value: string | null;
  dirty: boolean;
  /** CLOCK's second-chance bit: set by a hit, not by the insert (new entries are at the back already). */
  used: boolean;
  timestamp: number;
}

/** What eviction shrinks the cache to, as a share of the bound (evicting in bulk). */
const EVICT_TO = 0.9;

export class CachingLayer implements WriteLayer {
  private readonly entries = new Map<string, Entry>();
  /** Keys of dirty entries, in byte order (flush order and range-scan overlay). */
  private readonly dirtyKeys = new SortedSet();
  readonly stats = { hits: 0, misses: 0 };
  /** Batches written behind because the cache was full (for tests and metrics). */
  earlyWrites = 0;
  // A read-modify-write hands the same key Buffer to get and then put: spell it once.
  // (Buffers handed to a store are not modified afterwards: see Serde.)
  private lastKey: Buffer | undefined;
  private lastSpelling = '';

  constructor(
    private readonly inner: ChangeLoggingLayer,
    readonly maxEntries: number,
  ) {}

  private spell(key: Buffer): string {
    if (key !== this.lastKey) {
      this.lastKey = key;
      this.lastSpelling = byteString(key);
    }
    return this.lastSpelling;
  }

  get(key: Buffer): Buffer | undefined {
    const k = this.spell(key);
    const e = this.entries.get(k);
    if (e !== undefined) {
      this.stats.hits++;
      e.used = true;
      return e.value === null ? undefined : fromByteString(e.value);
    }
    this.stats.misses++;
    // Known to be absent below without a read (a window newer than any stored): nothing
    // worth caching, as asking again costs as little (a dedupe store's new keys, each put
    // right after, would fill the cache with misses and churn it).
    if (!this.inner.mayContain(key)) return undefined;
    const v = this.inner.getSync(key);
    const value = v === undefined ? null : byteString(v);
    this.insert(k, { value, dirty: false, used: false, timestamp: 0 });
    return v;
  }

  put(key: Buffer, value: Buffer | null, timestamp: number): void {
    const k = this.spell(key);
    const spelled = value === null ? null : byteString(value);
    const e = this.entries.get(k);
    if (e === undefined) {
      this.dirtyKeys.add(k);
      this.insert(k, { value: spelled, dirty: true, used: false, timestamp });
      return;
    }
    if (!e.dirty) {
      e.dirty = true;
      this.dirtyKeys.add(k);
    }
    e.value = spelled;
    e.used = true;
    e.timestamp = timestamp;
  }

  private insert(k: string, e: Entry): void {
    this.entries.set(k, e);
    if (this.entries.size > this.maxEntries) this.evict();
  }

  private evict(): void {
    if (this.dirtyKeys.size > this.maxEntries / 2) {
      this.earlyWrites++;
      this.writeDirty();
    }
    const target = Math.floor(this.maxEntries * EVICT_TO);
    // Entries that get a second chance move to the back of the map, so the sweep sees
    // each at most twice (clean entries are over half of the map here).
    let budget = 2 * this.entries.size;
    for (const [k, e] of this.entries) {
      if (this.entries.size <= target || budget-- === 0) break;
      this.entries.delete(k);
      if (e.dirty || e.used) {
        e.used = false;
        this.entries.set(k, e);
      }
    }
  }

  /** Sends every dirty entry down as one batch (in key order) and marks it clean. */
  private writeDirty(): void {
    if (!this.dirtyKeys.size) return;
    const ops: TimedWriteOp[] = [];
    for (const k of this.dirtyKeys.from()) {
      const e = this.entries.get(k)!;
      const value = e.value === null ? null : fromByteString(e.value);
      ops.push({ key: fromByteString(k), value, timestamp: e.timestamp, spelling: k });
      e.dirty = false;
    }
    this.dirtyKeys.clear();
    this.inner.putAll(ops);
  }

  async flush(): Promise<void> {
    this.writeDirty();
    this.lastKey = undefined; // nor keep the caller's last key Buffer (and its slab) for long
    await this.inner.settled();
  }

  discardDirty(): void {
    for (const k of this.dirtyKeys.from()) this.entries.delete(k);
    this.dirtyKeys.clear();
  }

  clear(): void {
    this.entries.clear();
    this.dirtyKeys.clear();
    this.lastKey = undefined;
  }

  /** Dirty entries in range, as new Buffers (changing the cache later does not change them). */
  *unflushed(range: ScanRange = {}): Iterable<CachedEntry> {
    const { from, below } = byteStringBounds(range);
    for (const k of this.dirtyKeys.from(from, below)) {
      const v = this.entries.get(k)!.value;
      yield { key: fromByteString(k), value: v === null ? null : fromByteString(v) };
    }
  }

  /** Backend entries in range, overlaid with dirty entries as they were when the scan began. */
  async *scan(range: ScanRange): AsyncIterable<[Buffer, Buffer]> {
    const overlay = [...this.unflushed(range)];
    let i = 0;
    for await (const [k, v] of this.inner.scan(range)) {
      while (i < overlay.length && Buffer.compare(overlay[i]!.key, k) < 0) {
        const o = overlay[i++]!;
        if (o.value !== null) yield [o.key, o.value];
      }
      if (i < overlay.length && Buffer.compare(overlay[i]!.key, k) === 0) {
        const o = overlay[i++]!;
        if (o.value !== null) yield [o.key, o.value];
        continue;
      }
      yield [k, v];
    }
    for (; i < overlay.length; i++) {
      const o = overlay[i]!;
      if (o.value !== null) yield [o.key, o.value];
    }
  }

  /** Entries held (clean and dirty). */
  get size(): number {
    return this.entries.size;
  }
}
