/**
 * The typed top of a key-value store stack (the metered layer): serdes, metrics, and the
 * StateStore face the runtime drives (flush, changelog, restore, close).
 */
import type { ChangelogRecord, KeyValue, KeyValueStore, RestoreRecord, Serde, StateStore, StoreMetrics } from './api.js';
import type { BytesBackend, ScanRange } from './backend/backend.js';
import type { ChangeLoggingLayer } from './changelogging.js';
import type { CacheLike } from './write-buffer.js';

export class MeteredKeyValueStore<K, V> implements KeyValueStore<K, V>, StateStore {
  readonly kind = 'keyValue' as const;

  constructor(
    readonly name: string,
    private readonly keySerde: Serde<K>,
    private readonly valueSerde: Serde<V>,
    private readonly cache: CacheLike,
    private readonly logging: ChangeLoggingLayer,
    private readonly backend: BytesBackend,
    private readonly timestamp: () => number,
    private readonly metrics?: StoreMetrics,
  ) {}

  get(key: K): V | undefined {
    const v = this.cache.get(this.keySerde.serialize(key));
    return v === undefined ? undefined : this.valueSerde.deserialize(v);
  }

  put(key: K, value: V): void {
    this.cache.put(this.keySerde.serialize(key), this.valueSerde.serialize(value), this.timestamp());
  }

  putIfAbsent(key: K, value: V): V | undefined {
    const old = this.get(key);
    if (old === undefined) this.put(key, value);
    return old;
  }

  delete(key: K): V | undefined {
    const old = this.get(key);
    this.cache.put(this.keySerde.serialize(key), null, this.timestamp());
    return old;
  }

  range(from?: K, to?: K): AsyncIterable<KeyValue<K, V>> {
    const r: ScanRange = {};
    if (from !== undefined) r.gte = this.keySerde.serialize(from);
    if (to !== undefined) r.lte = this.keySerde.serialize(to);
    return this.typed(r);
  }

  all(): AsyncIterable<KeyValue<K, V>> {
    return this.typed({});
  }

  private async *typed(r: ScanRange): AsyncIterable<KeyValue<K, V>> {
    for await (const [k, v] of this.cache.scan(r)) yield { key: this.keySerde.deserialize(k), value: this.valueSerde.deserialize(v) };
  }

  private approx = 0;

  /** Entries in the backend when last counted (refreshed at flush), plus nothing cached: an estimate. */
  approximateNumEntries(): number {
    return this.approx;
  }

  async flush(): Promise<void> {
    const t0 = this.metrics ? performance.now() : 0;
    await this.cache.flush();
    this.approx = await this.backend.approximateCount();
    if (this.metrics) {
      this.metrics.operation(this.name, 'flush', (performance.now() - t0) / 1000);
      this.reportCache();
    }
  }

  private reportCache(): void {
    const { hits, misses } = this.cache;
    for (let i = 0; i < hits; i++) this.metrics!.cacheAccess(this.name, true);
    for (let i = 0; i < misses; i++) this.metrics!.cacheAccess(this.name, false);
    this.cache.hits = 0;
    this.cache.misses = 0;
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
