/**
 * Public state-store contracts. `state/` knows nothing of Kafka: the runtime
 * sends the changelog records these stores hand it, and feeds restore records back.
 *
 * Reads are synchronous (served from the write cache or LevelDB's `getSync`), so a
 * processor never awaits per record. Writes go to the cache and reach the backend
 * and the changelog at `flush()`, which the runtime calls on commit.
 */

/** Turns values into bytes and back. Byte order of serialized keys is range-scan order. */
export interface Serde<T> {
  serialize(value: T): Buffer;
  deserialize(bytes: Buffer): T;
}

export interface KeyValue<K, V> {
  key: K;
  value: V;
}

/** One change to a store, as written to (and restored from) its changelog topic. */
export interface ChangelogRecord {
  key: Buffer;
  /** `null` is a tombstone (delete). */
  value: Buffer | null;
  /** Epoch ms of the record that caused the change. */
  timestamp: number;
}

/** One changelog record being restored, with its offset in the changelog partition. */
export interface RestoreRecord extends ChangelogRecord {
  offset: number;
}

export type StoreKind = 'keyValue' | 'window';

/** What every store offers the runtime (not the processor). */
export interface StateStore {
  readonly name: string;
  readonly kind: StoreKind;
  /** Write the cache through to the backend and the changelog buffer. */
  flush(): Promise<void>;
  /** Changelog records produced since the last drain (after a flush), in write order. */
  drainChangelog(): ChangelogRecord[];
  /** Apply changelog records in bulk (one batch write), bypassing cache and changelog. */
  restore(records: readonly RestoreRecord[]): Promise<void>;
  /** Drop uncommitted cached writes and pending changelog records (after an abort). */
  discardUncommitted(): void;
  close(): Promise<void>;
}

export interface ReadOnlyKeyValueStore<K, V> {
  /** Synchronous point read. */
  get(key: K): V | undefined;
  /** Entries with from <= key <= to in byte order of the serialized key (bounds optional). */
  range(from?: K, to?: K): AsyncIterable<KeyValue<K, V>>;
  all(): AsyncIterable<KeyValue<K, V>>;
  approximateNumEntries(): number;
}

export interface KeyValueStore<K, V> extends ReadOnlyKeyValueStore<K, V> {
  put(key: K, value: V): void;
  putIfAbsent(key: K, value: V): V | undefined;
  delete(key: K): V | undefined;
}

export interface WindowedValue<V> {
  windowStart: number;
  value: V;
}

export interface WindowedKeyValue<K, V> extends WindowedValue<V> {
  key: K;
}

export interface ReadOnlyWindowStore<K, V> {
  /** Synchronous point read of one window. */
  fetch(key: K, windowStart: number): V | undefined;
  /** Windows of `key` with timeFrom <= windowStart <= timeTo, in time order. */
  fetchRange(key: K, timeFrom: number, timeTo: number): AsyncIterable<WindowedValue<V>>;
  /** All keys' windows with timeFrom <= windowStart <= timeTo. */
  fetchAll(timeFrom: number, timeTo: number): AsyncIterable<WindowedKeyValue<K, V>>;
}

export interface WindowStore<K, V> extends ReadOnlyWindowStore<K, V> {
  /** Put (or with `undefined`, delete) the value of one window. Windows older than retention are dropped. */
  put(key: K, value: V | undefined, windowStart: number): void;
}

/** Counters the metered layer raises; bound to prom-client by the runtime. */
export interface StoreMetrics {
  /** Called once per operation; `op` is get, put, delete, range, flush, restore. */
  operation(store: string, op: string, seconds: number): void;
  cacheAccess(store: string, hit: boolean): void;
}

/** How to open one store for one task. Built from the topology's store spec by the runtime. */
export interface StoreOptions<K, V> {
  name: string;
  kind: StoreKind;
  keySerde: Serde<K>;
  valueSerde: Serde<V>;
  /** Keep a changelog (drainChangelog returns records). Default true. */
  logged: boolean;
  /** Put a write cache in the stack (collapses writes per key between flushes). Default true. */
  cache: boolean;
  /** Window stores: how long windows are kept, in ms (measured against the newest window start seen). */
  retentionMs?: number;
  /** Window stores: segment width in ms; whole segments expire at once. */
  segmentMs?: number;
  /** Window stores: window size in ms (informational; keys are window starts). */
  windowSizeMs?: number;
}

export interface StoreContext {
  applicationId: string;
  taskId: string;
  /** Root of the state directory; LevelDB stores live at `<stateDir>/<app>/<task>/<store>`. */
  stateDir: string;
  backend: 'leveldb' | 'memory';
  metrics?: StoreMetrics;
  /** Timestamp (epoch ms) stamped on changelog records: the record being processed. Default: now. */
  currentTimestamp?: () => number;
  /** Most entries the write cache holds (clean ones are evicted beyond it). Default 100 000. */
  cacheMaxEntries?: number;
}
