/**
 * The layer of a store without a cache: every put goes straight down — one backend write
 * and one changelog record each, nothing collapsed. Writes are sent without awaiting (a
 * processor's put is synchronous); the backend serves them to reads until they land, and
 * groups the ones issued together into one batch.
 */
import type { ScanRange } from './backend/backend.js';
import type { ChangeLoggingLayer } from './changelogging.js';
import type { CachedEntry, WriteLayer } from './layer.js';

export class WriteThrough implements WriteLayer {
  readonly stats = { hits: 0, misses: 0 };

  constructor(private readonly inner: ChangeLoggingLayer) {}

  get(key: Buffer): Buffer | undefined {
    this.stats.misses++;
    return this.inner.getSync(key);
  }

  put(key: Buffer, value: Buffer | null, timestamp: number): void {
    this.inner.putAll([{ key, value, timestamp }]);
  }

  flush(): Promise<void> {
    return this.inner.settled();
  }

  /** Nothing is held back: what was put has been sent down already. */
  discardDirty(): void {}

  clear(): void {}

  scan(range: ScanRange): AsyncIterable<[Buffer, Buffer]> {
    return this.inner.scan(range);
  }

  unflushed(): Iterable<CachedEntry> {
    return [];
  }
}
