/**
 * The typed key-value store (top of its stack): serdes in, bytes down, timings out.
 */
import type { KeyValue, KeyValueStore, Serde } from './api.js';
import type { ScanRange } from './backend/backend.js';
import { MeteredStore, type StoreStack } from './metered.js';

export class MeteredKeyValueStore<K, V> extends MeteredStore implements KeyValueStore<K, V> {
  readonly kind = 'keyValue' as const;
  // A get then a put of the same primitive key (read-modify-write) serializes it once.
  // Object keys are serialized every time: the caller may have changed them in between.
  private lastKey: K | undefined;
  private lastKeyBytes: Buffer | undefined;

  constructor(
    name: string,
    private readonly keySerde: Serde<K>,
    private readonly valueSerde: Serde<V>,
    stack: StoreStack,
  ) {
    super(name, stack);
  }

  private keyBytes(key: K): Buffer {
    if (key === this.lastKey && this.lastKeyBytes) return this.lastKeyBytes;
    const bytes = this.keySerde.serialize(key);
    if (typeof key !== 'object' && typeof key !== 'function') {
      this.lastKey = key;
      this.lastKeyBytes = bytes;
    }
    return bytes;
  }

  get(key: K): V | undefined {
    const t0 = this.timing ? performance.now() : 0;
    const v = this.layer.get(this.keyBytes(key));
    if (this.timing) this.timed('get', t0);
    return v === undefined ? undefined : this.valueSerde.deserialize(v);
  }

  put(key: K, value: V): void {
    const t0 = this.timing ? performance.now() : 0;
    this.layer.put(this.keyBytes(key), this.valueSerde.serialize(value), this.stack.timestamp());
    if (this.timing) this.timed('put', t0);
  }

  putIfAbsent(key: K, value: V): V | undefined {
    const old = this.get(key);
    if (old === undefined) this.put(key, value);
    return old;
  }

  delete(key: K): V | undefined {
    const old = this.get(key);
    const t0 = this.timing ? performance.now() : 0;
    this.layer.put(this.keyBytes(key), null, this.stack.timestamp());
    if (this.timing) this.timed('delete', t0);
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
    const t0 = this.timing ? performance.now() : 0;
    for await (const [k, v] of this.layer.scan(r))
      yield { key: this.keySerde.deserialize(k), value: this.valueSerde.deserialize(v) };
    if (this.timing) this.timed('range', t0);
  }

  /**
   * An estimate of the entries that reached the backend (writes still in the cache are
   * not counted, as in Kafka Streams). LevelDB counts in the background, so it lags; the
   * store is never walked on the caller's path.
   */
  approximateNumEntries(): number {
    return this.stack.backend.approximateCount();
  }
}
