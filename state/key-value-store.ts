/**
 * The typed top of a key-value store stack (the metered layer): serdes, metrics, and the
 * StateStore face the runtime drives (flush, changelog, restore, close).
 */
import type {
  ChangelogRecord,
  KeyValue,
  KeyValueStore,
  RestoreRecord,
  Serde,
  StateStore,
  StoreMetrics,
} from './api.js';
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

  // A get followed by a put of the same key (read-modify-write) serializes the key once.
  private lastKey: K | undefined;
  private lastKeyBytes: Buffer | undefined;

  private keyBytes(key: K): Buffer {
    if (key === this.lastKey && this.lastKeyBytes) return this.lastKeyBytes;
    this.lastKey = key;
    return (this.lastKeyBytes = this.keySerde.serialize(key));
  }

  get(key: K): V | undefined {
    const v = this.cache.get(this.keyBytes(key));
    return v === undefined ? undefined : this.valueSerde.deserialize(v);
  }

  put(key: K, value: V): void {
    this.cache.put(this.keyBytes(key), this.valueSerde.serialize(value), this.timestamp());
  }

  putIfAbsent(key: K, value: V): V | undefined {
    const old = this.get(key);
    if (old === undefined) this.put(key, value);
    return old;
  }

  delete(key: K): V | undefined {
    const old = this.get(key);
    this.cache.put(this.keyBytes(key), null, this.timestamp());
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
    for await (const [k, v] of this.cache.scan(r))
      yield { key: this.keySerde.deserialize(k), value: this.valueSerde.deserialize(v) };
  }

  private approx = 0;
  private counted = 0;

  /**
   * An estimate: entries in the backend when last counted. Counting walks the keys, so
   * it runs in the background at most every 30 s, never on the record path.
   */
  approximateNumEntries(): number {
    if (Date.now() - this.counted > 30_000) {
      this.counted = Date.now();
      void this.backend.approximateCount().then(
        (n) => (this.approx = n),
        () => {},
      );
    }
    return this.approx;
  }

  async flush(): Promise<void> {
    const t0 = this.metrics ? performance.now() : 0;
    await this.cache.flush();
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

  /** Writes that reached the backend since open (to observe the cache collapsing writes). */
  get backendWrites(): number {
    return this.logging.backendWrites;
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
