/**
 * Public state-store contracts. `state/` knows nothing of Kafka: the runtime
 * sends the changelog records these stores hand it, and feeds restore records back.
 *
 * Reads are synchronous (served from the write cache or LevelDB's `getSync`), so a
 * processor never awaits per record. Writes go to the cache and reach the backend
 * and the changelog at `flush()`, which the runtime calls on commit.
 */

/**
 * Turns values into bytes and back. Byte order of serialized keys is range-scan order.
 * Stores keep the Buffers a serde returns: do not modify them afterwards.
 */
export interface Serde<T> {
  serialize(value: T): Buffer;
  deserialize(bytes: Buffer): T;
  /**
   * Optional. Called by the runtime before `deserialize` on a record read from a topic:
   * returns a promise when the serde must fetch something first (a schema registry serde
   * meeting a schema id it has not seen: a newer version of the subject, say), and
   * `undefined` when `deserialize` can run now. The record waits for it; a rejection stops
   * the instance (the record is not dead-lettered: it may well be good).
   */
  prepareFor?(bytes: Buffer): Promise<void> | undefined;
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

export type StoreKind = 'keyValue' | 'window' | 'session';

/** What every store offers the runtime (not the processor). */
export interface StateStore {
  readonly name: string;
  readonly kind: StoreKind;
  /**
   * Write the cache through to the backend (one batch) and the changelog buffer, and wait
   * until the backend has it. The runtime calls it on commit, before `drainChangelog`.
   */
  flush(): Promise<void>;
  /**
   * Changelog records produced since the last drain (complete after a flush), in the order
   * their writes reached the backend: with a cache, one record per key per flush.
   */
  drainChangelog(): ChangelogRecord[];
  /**
   * Apply changelog records in bulk (one batch write), bypassing cache and changelog. The
   * last record per key wins; a `null` value deletes.
   */
  restore(records: readonly RestoreRecord[]): Promise<void>;
  /**
   * Drop cached writes not yet flushed and changelog records not yet drained (after an
   * abort). Writes already sent to the backend — by a store without a cache, or by a full
   * cache writing behind — stay there: under exactly-once the runtime wipes such state and
   * restores it from the changelog.
   */
  discardUncommitted(): void;
  /** Close the backend (LevelDB: releases its lock). Does not flush: flush first to keep writes. */
  close(): Promise<void>;
}

/** A store opened by this folder's factory: a StateStore that can also delete its data. */
export interface LocalStateStore extends StateStore {
  /** Close the store and delete its local data (LevelDB: its directory). */
  destroy(): Promise<void>;
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
  /**
   * Put (or with `undefined`, delete) the value of one window. Windows older than retention
   * are dropped. A value that serializes to zero bytes is refused (see `markClosed`).
   */
  put(key: K, value: V | undefined, windowStart: number): void;
  /**
   * Marks a window closed: its value goes, and reads see no window (`fetch` gives
   * undefined, scans skip it), but `isClosed` is true until retention drops it — so a
   * processor that emitted the window's final result knows, also after a restart, not
   * to open it again. Changelogged like any write (an empty value).
   */
  markClosed(key: K, windowStart: number): void;
  /** True when the window was marked closed (and retention has not dropped it yet). */
  isClosed(key: K, windowStart: number): boolean;
  /** As `fetchAll`, closed windows included (with `value` undefined): what a processor rebuilds its index from. */
  fetchAllWithClosed(
    timeFrom: number,
    timeTo: number,
  ): AsyncIterable<WindowedKeyValue<K, V | undefined>>;
}

/** A session: `[start, end]` (epoch ms, both inclusive) of one key's records. */
export interface SessionWindow {
  start: number;
  end: number;
}

/** A session of a key with its value (`undefined` for a session marked closed). */
export interface SessionEntry<K, V> extends SessionWindow {
  key: K;
  value: V;
}

export interface ReadOnlySessionStore<K, V> {
  /** Synchronous point read of one session. */
  fetchSession(key: K, session: SessionWindow): V | undefined;
  /**
   * Sessions of `key` that end at or after `earliestEnd` and start at or before
   * `latestStart` (Kafka Streams' `findSessions`), by end time. Closed sessions are left out.
   */
  findSessions(key: K, earliestEnd: number, latestStart: number): AsyncIterable<SessionEntry<K, V>>;
  /** Every key's sessions ending in [endFrom, endTo], by end time then key bytes (closed ones left out). */
  fetchAll(endFrom: number, endTo: number): AsyncIterable<SessionEntry<K, V>>;
}

/**
 * Sessions of each key, kept for a retention measured back from the newest session end
 * seen. As in a window store, a session can be marked closed (its final result emitted).
 */
export interface SessionStore<K, V> extends ReadOnlySessionStore<K, V> {
  /** Put (or with `undefined`, remove) one session's value. */
  put(key: K, session: SessionWindow, value: V | undefined): void;
  /** Marks a session closed (see `WindowStore.markClosed`). */
  markClosed(key: K, session: SessionWindow): void;
  /** As `fetchAll`, closed sessions included (with `value` undefined). */
  fetchAllWithClosed(endFrom: number, endTo: number): AsyncIterable<SessionEntry<K, V | undefined>>;
}

/** Counters the metered layer raises; bound to prom-client by the runtime. */
export interface StoreMetrics {
  /**
   * Called once per operation with its duration in seconds; `op` is get, put, delete,
   * range, flush, restore. get/put/delete are on the record path: keep this cheap. Leave
   * it out to skip timing altogether (the cache counts are still reported).
   */
  operation?(store: string, op: string, seconds: number): void;
  /** One cache read, hit or miss. Called at flush for each access since the last flush. */
  cacheAccess(store: string, hit: boolean): void;
  /** Cache reads since the last flush, in one call; used instead of cacheAccess when given. */
  cacheAccesses?(store: string, hits: number, misses: number): void;
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
  /**
   * Window stores: how long windows are kept, in ms, measured back from the newest window
   * start flushed (the runtime flushes at each commit); session stores: back from the newest
   * session end. Older windows are invisible and puts to them are dropped. Default
   * 86 400 000 (one day).
   */
  retentionMs?: number;
  /** Window stores: segment width in ms; whole segments expire at once. Default max(60 000, retention / 2). */
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
  /**
   * Most entries a store's cache holds, clean and dirty. Beyond it clean entries are
   * evicted; when dirty ones are over half of it, they are written behind to the backend
   * early (never dropped). Default 100 000.
   */
  cacheMaxEntries?: number;
  /** Memory of each LevelDB store (ignored by the memory backend). Default `DEFAULT_LEVELDB_MEMORY`. */
  leveldb?: LevelDbMemory;
}

/**
 * The native memory one LevelDB store may use besides its open files' indexes: a block
 * cache and a write buffer (memtable; up to two while one is written to a file). An
 * instance holds one store per task and declared store, so its LevelDB memory is at most
 * tasks × stores × (blockCacheBytes + 2 × writeBufferBytes).
 */
export interface LevelDbMemory {
  /** Block cache in bytes (decompressed blocks read from files). */
  blockCacheBytes: number;
  /** Write buffer in bytes (LevelDB clamps it to [64 KiB, 1 GiB]). */
  writeBufferBytes: number;
}

/**
 * LevelDB memory per store unless configured: 1 MiB each. (LevelDB's own defaults, 8 MiB
 * of block cache and a 4 MiB write buffer, are sized for one database per process, not
 * for the dozens a stream-processing instance opens.)
 */
export const DEFAULT_LEVELDB_MEMORY: Readonly<LevelDbMemory> = Object.freeze({
  blockCacheBytes: 1 << 20,
  writeBufferBytes: 1 << 20,
});
