/**
 * The typed key-value store (top of its stack): serdes in, bytes down, timings out.
 */
import type { KeyValue, KeyValueStore, Serde } from './api.js';
import type { ScanRange } from './backend/backend.js';
import { MeteredStore, type StoreStack } from './metered.js';
import { cacheBound, isPrimitive, TypedFront } from './typed-front.js';

export class MeteredKeyValueStore<K, V> extends MeteredStore implements KeyValueStore<K, V> {
  readonly kind = 'keyValue' as const;
  // A get then a put of the same primitive key (read-modify-write) serializes it once.
  // Object keys are serialized every time: the caller may have changed them in between.
  private lastKey: K | undefined;
  private lastKeyBytes: Buffer | undefined;

  /**
   * While every key and value seen is a primitive: the typed cache, in place of the caching
   * layer (see TypedFront). The first object key or value hands the store back to the
   * caching layer for good.
   */
  private front: TypedFront<K, V> | undefined;
  private readonly decode = (b: Buffer): V => this.valueSerde.deserialize(b);

  constructor(
    name: string,
    private readonly keySerde: Serde<K>,
    private readonly valueSerde: Serde<V>,
    stack: StoreStack,
  ) {
    super(name, stack);
    const bound = cacheBound(this.layer);
    if (bound !== undefined)
      this.front = new TypedFront<K, V>(
        this.layer,
        stack.logging,
        (k) => this.keySerde.serialize(k),
        bound,
      );
  }

  /** The typed cache for `key`, or undefined (handing the store back) if it cannot serve it. */
  private frontFor(key: K): TypedFront<K, V> | undefined {
    if (this.front === undefined || isPrimitive(key)) return this.front;
    this.handBack();
    return undefined;
  }

  /** From now on the caching layer serves every key (what the typed cache holds goes down). */
  private handBack(): void {
    this.front?.pushDown();
    this.front?.clear();
    this.front = undefined;
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
    let value: V | undefined;
    const front = this.frontFor(key);
    const got = front?.get(key, this.decode);
    if (got !== undefined && !got.object) value = got.value;
    else {
      // An object value read through the typed cache: the caching layer serves from now on.
      if (got?.object) this.handBack();
      const v = this.layer.get(this.keyBytes(key));
      value = v === undefined ? undefined : this.valueSerde.deserialize(v);
    }
    if (this.timing) this.timed('get', t0);
    return value;
  }

  put(key: K, value: V): void {
    const t0 = this.timing ? performance.now() : 0;
    this.write(key, value, this.valueSerde.serialize(value));
    if (this.timing) this.timed('put', t0);
  }

  /** A write of `bytes` (null: a delete), to the typed cache when it can take it. */
  private write(key: K, value: V | undefined, bytes: Buffer | null): void {
    const front = this.frontFor(key);
    if (front !== undefined) {
      if (bytes === null) return front.write(key, undefined, null, this.stack.timestamp());
      if (isPrimitive(value)) return front.write(key, value, bytes, this.stack.timestamp());
      this.handBack();
    }
    this.layer.put(this.keyBytes(key), bytes, this.stack.timestamp());
  }

  putIfAbsent(key: K, value: V): V | undefined {
    const old = this.get(key);
    if (old === undefined) this.put(key, value);
    return old;
  }

  delete(key: K): V | undefined {
    const old = this.get(key);
    const t0 = this.timing ? performance.now() : 0;
    this.write(key, undefined, null);
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
    // The scan reads the backend (after its writes land) under the caching layer's own
    // writes: the typed cache's go down first.
    this.front?.pushDown();
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

  override async flush(): Promise<void> {
    this.front?.pushDown();
    await super.flush();
  }

  override async restore(records: Parameters<MeteredStore['restore']>[0]): Promise<void> {
    this.front?.clear();
    await super.restore(records);
  }

  override discardUncommitted(): void {
    this.front?.clear();
    super.discardUncommitted();
  }

  override async destroy(): Promise<void> {
    this.front?.clear();
    await super.destroy();
  }
}
