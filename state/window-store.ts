/**
 * The typed top of a window store stack: windows of a key at their start times, kept for
 * a retention measured against the newest window start seen.
 */
import type {
  ChangelogRecord,
  RestoreRecord,
  Serde,
  StateStore,
  StoreMetrics,
  WindowedKeyValue,
  WindowedValue,
  WindowStore,
} from './api.js';
import type { BytesBackend } from './backend/backend.js';
import type { ChangeLoggingLayer } from './changelogging.js';
import { decodeWindowKey, encodeWindowKey, type SegmentedTarget } from './segments.js';
import type { CacheLike } from './write-buffer.js';

export class MeteredWindowStore<K, V> implements WindowStore<K, V>, StateStore {
  readonly kind = 'window' as const;

  constructor(
    readonly name: string,
    private readonly keySerde: Serde<K>,
    private readonly valueSerde: Serde<V>,
    private readonly cache: CacheLike,
    private readonly logging: ChangeLoggingLayer,
    private readonly segments: SegmentedTarget,
    private readonly backend: BytesBackend,
    private readonly timestamp: () => number,
    private readonly metrics?: StoreMetrics,
  ) {}

  fetch(key: K, windowStart: number): V | undefined {
    if (windowStart < this.segments.expiredBefore) return undefined;
    const v = this.cache.get(encodeWindowKey(this.keySerde.serialize(key), windowStart));
    return v === undefined ? undefined : this.valueSerde.deserialize(v);
  }

  put(key: K, value: V | undefined, windowStart: number): void {
    const k = encodeWindowKey(this.keySerde.serialize(key), windowStart);
    this.cache.put(
      k,
      value === undefined ? null : this.valueSerde.serialize(value),
      this.timestamp(),
    );
  }

  async *fetchRange(key: K, timeFrom: number, timeTo: number): AsyncIterable<WindowedValue<V>> {
    const kb = this.keySerde.serialize(key);
    const prefix = encodeWindowKey(kb, 0).subarray(0, 4 + kb.length);
    for (const e of await this.collect(timeFrom, timeTo, prefix))
      yield { windowStart: e.windowStart, value: e.value };
  }

  async *fetchAll(timeFrom: number, timeTo: number): AsyncIterable<WindowedKeyValue<K, V>> {
    yield* await this.collect(timeFrom, timeTo);
  }

  /** Backend windows overlaid with unflushed writes, ordered by window start then key bytes. */
  private async collect(
    timeFrom: number,
    timeTo: number,
    prefix?: Buffer,
  ): Promise<Array<WindowedKeyValue<K, V>>> {
    const merged = new Map<string, [Buffer, Buffer | null]>();
    for await (const [k, v] of this.segments.scanWindows(timeFrom, timeTo, prefix))
      merged.set(k.toString('latin1'), [k, v]);
    const lo = Math.max(timeFrom, this.segments.expiredBefore);
    for (const d of this.cache.dirty()) {
      if (prefix && !d.key.subarray(0, prefix.length).equals(prefix)) continue;
      const ws = decodeWindowKey(d.key).windowStart;
      if (ws >= lo && ws <= timeTo) merged.set(d.key.toString('latin1'), [d.key, d.value]);
    }
    const out: Array<WindowedKeyValue<K, V> & { raw: Buffer }> = [];
    for (const [k, v] of merged.values()) {
      if (v === null) continue;
      const { key, windowStart } = decodeWindowKey(k);
      out.push({
        key: this.keySerde.deserialize(key),
        windowStart,
        value: this.valueSerde.deserialize(v),
        raw: key,
      });
    }
    out.sort((a, b) => a.windowStart - b.windowStart || Buffer.compare(a.raw, b.raw));
    return out.map(({ key, windowStart, value }) => ({ key, windowStart, value }));
  }

  async flush(): Promise<void> {
    const t0 = this.metrics ? performance.now() : 0;
    await this.cache.flush();
    this.metrics?.operation(this.name, 'flush', (performance.now() - t0) / 1000);
  }

  drainChangelog(): ChangelogRecord[] {
    return this.logging.drain();
  }

  async restore(records: readonly RestoreRecord[]): Promise<void> {
    await this.logging.restore(records);
    this.cache.clear();
  }

  discardUncommitted(): void {
    this.cache.discardDirty();
    this.logging.discard();
  }

  async close(): Promise<void> {
    await this.backend.close();
  }
}
