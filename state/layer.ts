/**
 * What the typed (metered) stores see below them: the caching layer, or write-through when
 * a store has no cache. Keys and values are bytes; `null` is a delete.
 */
import type { ScanRange } from './backend/backend.js';

export interface CachedEntry {
  key: Buffer;
  value: Buffer | null;
}

export interface WriteLayer {
  /** Synchronous point read: cache first, then the backend. */
  get(key: Buffer): Buffer | undefined;
  /** Synchronous write; `timestamp` (epoch ms) goes on the changelog record. */
  put(key: Buffer, value: Buffer | null, timestamp: number): void;
  /** Writes everything held through to the backend and the changelog, and awaits it landing. */
  flush(): Promise<void>;
  /** Drops writes not yet sent down (after an aborted transaction). */
  discardDirty(): void;
  /** Forgets everything cached (after a restore wrote underneath). */
  clear(): void;
  /** Backend entries in range overlaid with writes not yet sent down, in byte order of keys. */
  scan(range: ScanRange): AsyncIterable<[Buffer, Buffer]>;
  /** Writes not yet sent down, in byte order of keys (the latest per key). */
  unflushed(range?: ScanRange): Iterable<CachedEntry>;
  /** Cache hits and misses since last reset (write-through counts every read as a miss). */
  readonly stats: { hits: number; misses: number };
}
