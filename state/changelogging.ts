/**
 * The change-logging layer: every write that goes down to the backend is also recorded
 * as a changelog record, which the runtime drains at commit and sends to
 * `<app>-<store>-changelog`. Restore writes straight to the backend, unlogged.
 */
import type { ChangelogRecord, RestoreRecord } from './api.js';
import type { ScanRange, WriteOp } from './backend/backend.js';

/** What the change-logging layer writes to: a bytes backend, or the window store's segments. */
export interface LoggedTarget {
  getSync(key: Buffer): Buffer | undefined;
  /** False when `key` cannot be there (a read would find nothing); optional. */
  mayContain?(key: Buffer): boolean;
  write(ops: readonly WriteOp[]): Promise<void>;
  load(ops: readonly WriteOp[]): Promise<void>;
  scan(range: ScanRange): AsyncIterable<[Buffer, Buffer]>;
  settled(): Promise<void>;
}

export interface TimedWriteOp extends WriteOp {
  /** Epoch ms stamped on the changelog record. */
  timestamp: number;
}

export class ChangeLoggingLayer {
  private pending: ChangelogRecord[] = [];
  /** Writes sent down to the backend since open (observes the cache collapsing writes). */
  backendWrites = 0;

  constructor(
    readonly inner: LoggedTarget,
    private readonly logged: boolean,
  ) {}

  getSync(key: Buffer): Buffer | undefined {
    return this.inner.getSync(key);
  }

  /** False when `key` cannot be below (see LoggedTarget.mayContain). */
  mayContain(key: Buffer): boolean {
    return this.inner.mayContain?.(key) ?? true;
  }

  scan(range: ScanRange): AsyncIterable<[Buffer, Buffer]> {
    return this.inner.scan(range);
  }

  /**
   * Sends writes down (one batch) and logs them. Not awaited: they are readable at once,
   * and a failure surfaces at the next `settled()`.
   */
  putAll(ops: readonly TimedWriteOp[]): void {
    if (!ops.length) return;
    this.backendWrites += ops.length;
    if (this.logged)
      for (const op of ops)
        this.pending.push({ key: op.key, value: op.value, timestamp: op.timestamp });
    this.inner.write(ops).catch(() => {});
  }

  /** Resolves when every write sent down has landed; rejects if one failed. */
  settled(): Promise<void> {
    return this.inner.settled();
  }

  drain(): ChangelogRecord[] {
    const out = this.pending;
    this.pending = [];
    return out;
  }

  discard(): void {
    this.pending = [];
  }

  /**
   * Bulk restore: one batch, not logged. A batch applies in order, so the last record per
   * key wins without deduplicating here (LevelDB does it faster in its memtable).
   */
  restore(records: readonly RestoreRecord[]): Promise<void> {
    return this.inner.load(records);
  }
}
