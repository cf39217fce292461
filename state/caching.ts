/**
 * The caching layer: serves reads synchronously from memory where it can, and collapses
 * repeated writes to one key between flushes into one backend write and one changelog
 * record. Dirty entries are never evicted before a flush (the runtime flushes on every
 * commit, so they stay bounded by the commit interval); clean entries are evicted in
 * least-recently-used order past `maxEntries`.
 */
import { inRange, type ScanRange, type WriteOp } from './backend/backend.js';
import type { ChangeLoggingLayer } from './changelogging.js';
import type { CacheLike } from './write-buffer.js';

interface Entry {
  key: Buffer;
  /** `null` is a cached delete (or a cached miss when clean). */
  value: Buffer | null;
  dirty: boolean;
  timestamp: number;
}

export class CachingLayer implements CacheLike {
  private readonly entries = new Map<string, Entry>();
  private dirtyCount = 0;
  hits = 0;
  misses = 0;

  constructor(
    private readonly inner: ChangeLoggingLayer,
    private readonly maxEntries = 100_000,
  ) {}

  get(key: Buffer): Buffer | undefined {
    const k = key.toString('latin1');
    const e = this.entries.get(k);
    if (e) {
      this.hits++;
      if (!e.dirty) {
        this.entries.delete(k);
        this.entries.set(k, e);
      }
      return e.value ?? undefined;
    }
    this.misses++;
    const v = this.inner.getSync(key);
    this.entries.set(k, { key, value: v ?? null, dirty: false, timestamp: 0 });
    this.evict();
    return v;
  }

  put(key: Buffer, value: Buffer | null, timestamp: number): void {
    const k = key.toString('latin1');
    const e = this.entries.get(k);
    if (e) {
      if (!e.dirty) this.dirtyCount++;
      e.value = value;
      e.dirty = true;
      e.timestamp = timestamp;
      return;
    }
    this.entries.set(k, { key, value, dirty: true, timestamp });
    this.dirtyCount++;
    this.evict();
  }

  private evict(): void {
    if (this.entries.size <= this.maxEntries) return;
    for (const [k, e] of this.entries) {
      if (this.entries.size <= this.maxEntries) break;
      if (!e.dirty) this.entries.delete(k);
    }
  }

  /** Writes every dirty entry through (one batch) and marks it clean. */
  async flush(): Promise<void> {
    if (this.dirtyCount === 0) return;
    const ops: Array<WriteOp & { timestamp: number }> = [];
    for (const e of this.entries.values()) {
      if (e.dirty) {
        ops.push({ key: e.key, value: e.value, timestamp: e.timestamp });
        e.dirty = false;
      }
    }
    this.dirtyCount = 0;
    await this.inner.putAll(ops);
    this.evict();
  }

  /** Drops dirty entries (their writes never happen). */
  discardDirty(): void {
    for (const [k, e] of this.entries) if (e.dirty) this.entries.delete(k);
    this.dirtyCount = 0;
  }

  /** Drops every entry (after a restore wrote underneath the cache). */
  clear(): void {
    this.entries.clear();
    this.dirtyCount = 0;
  }

  *dirty(): Iterable<{ key: Buffer; value: Buffer | null }> {
    for (const e of this.entries.values()) if (e.dirty) yield e;
  }

  /** Backend entries in range, overlaid with dirty cache entries, in byte order of keys. */
  async *scan(range: ScanRange): AsyncIterable<[Buffer, Buffer]> {
    const overlay = [...this.entries.values()]
      .filter((e) => e.dirty && inRange(e.key, range))
      .sort((a, b) => Buffer.compare(a.key, b.key));
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
    for (; i < overlay.length; i++)
      if (overlay[i]!.value !== null) yield [overlay[i]!.key, overlay[i]!.value!];
  }

  get size(): number {
    return this.entries.size;
  }
}
