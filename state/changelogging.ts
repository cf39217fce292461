/**
 * The change-logging layer: every write that reaches the backend is also recorded as a
 * changelog record; the runtime drains them at commit and sends them to
 * `<app>-<store>-changelog`. Restore writes straight to the backend, unlogged.
 */
import type { ChangelogRecord, RestoreRecord } from './api.js';
import type { ScanRange, WriteOp } from './backend/backend.js';

/** What the change-logging layer writes to: a bytes backend, or the window store's segment mapper. */
export interface LoggedTarget {
  getSync(key: Buffer): Buffer | undefined;
  write(ops: readonly WriteOp[]): Promise<void>;
  scan(range: ScanRange): AsyncIterable<[Buffer, Buffer]>;
}

export class ChangeLoggingLayer {
  private pending: ChangelogRecord[] = [];
  /** Backend writes issued (for tests and metrics). */
  backendWrites = 0;

  constructor(
    readonly inner: LoggedTarget,
    private readonly logged: boolean,
  ) {}

  getSync(key: Buffer): Buffer | undefined {
    return this.inner.getSync(key);
  }

  scan(range: ScanRange): AsyncIterable<[Buffer, Buffer]> {
    return this.inner.scan(range);
  }

  async putAll(ops: ReadonlyArray<WriteOp & { timestamp: number }>): Promise<void> {
    if (!ops.length) return;
    await this.inner.write(ops);
    this.backendWrites += ops.length;
    if (this.logged)
      for (const op of ops)
        this.pending.push({ key: op.key, value: op.value, timestamp: op.timestamp });
  }

  drain(): ChangelogRecord[] {
    const out = this.pending;
    this.pending = [];
    return out;
  }

  discard(): void {
    this.pending = [];
  }

  /** Bulk restore: the last record per key wins, written as one batch. */
  async restore(records: readonly RestoreRecord[]): Promise<void> {
    const last = new Map<string, WriteOp>();
    for (const r of records) last.set(r.key.toString('latin1'), { key: r.key, value: r.value });
    await this.inner.write([...last.values()]);
  }
}
