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
 */
import { byteStringBounds, byteString, type ScanRange } from './backend/backend.js';
import { SortedSet } from './backend/sorted-set.js';
import type { ChangeLoggingLayer, TimedWriteOp } from './changelogging.js';
import type { CachedEntry, WriteLayer } from './layer.js';

interface Entry extends CachedEntry {
  /** `null` is a cached delete, or (when clean) a cached miss. */
  value: Buffer | null;
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
      return e.value ?? undefined;
    }
    this.stats.misses++;
    const v = this.inner.getSync(key);
    this.insert(k, { key, value: v ?? null, dirty: false, used: false, timestamp: 0 });
    return v;
  }

  put(key: Buffer, value: Buffer | null, timestamp: number): void {
    const k = this.spell(key);
    const e = this.entries.get(k);
    if (e === undefined) {
      this.dirtyKeys.add(k);
      this.insert(k, { key, value, dirty: true, used: false, timestamp });
      return;
    }
    if (!e.dirty) {
      e.dirty = true;
      this.dirtyKeys.add(k);
    }
    e.value = value;
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
      ops.push({ key: e.key, value: e.value, timestamp: e.timestamp, spelling: k });
      e.dirty = false;
    }
    this.dirtyKeys.clear();
    this.inner.putAll(ops);
  }

  async flush(): Promise<void> {
    this.writeDirty();
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

  *unflushed(range: ScanRange = {}): Iterable<CachedEntry> {
    const { from, below } = byteStringBounds(range);
    for (const k of this.dirtyKeys.from(from, below)) yield this.entries.get(k)!;
  }

  /** Backend entries in range, overlaid with dirty entries as they were when the scan began. */
  async *scan(range: ScanRange): AsyncIterable<[Buffer, Buffer]> {
    const overlay = [...this.unflushed(range)].map((e) => ({ key: e.key, value: e.value }));
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
