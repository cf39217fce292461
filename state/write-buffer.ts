/**
 * The layer used when a store has no cache: writes are not collapsed — each put becomes
 * one backend write and one changelog record — but they still reach the backend in one
 * batch at flush, because a processor's put is synchronous and LevelDB writes are not.
 */
import { inRange, type ScanRange, type WriteOp } from './backend/backend.js';
import type { ChangeLoggingLayer } from './changelogging.js';

export interface CacheLike {
  get(key: Buffer): Buffer | undefined;
  put(key: Buffer, value: Buffer | null, timestamp: number): void;
  flush(): Promise<void>;
  discardDirty(): void;
  clear(): void;
  scan(range: ScanRange): AsyncIterable<[Buffer, Buffer]>;
  /** Unflushed writes (latest per key; `null` = delete). */
  dirty(): Iterable<{ key: Buffer; value: Buffer | null }>;
  hits: number;
  misses: number;
}

export class WriteBuffer implements CacheLike {
  private ops: Array<WriteOp & { timestamp: number }> = [];
  private readonly latest = new Map<string, Buffer | null>();
  hits = 0;
  misses = 0;

  constructor(private readonly inner: ChangeLoggingLayer) {}

  get(key: Buffer): Buffer | undefined {
    const k = key.toString('latin1');
    if (this.latest.has(k)) return this.latest.get(k) ?? undefined;
    this.misses++;
    return this.inner.getSync(key);
  }

  put(key: Buffer, value: Buffer | null, timestamp: number): void {
    this.ops.push({ key, value, timestamp });
    this.latest.set(key.toString('latin1'), value);
  }

  async flush(): Promise<void> {
    const ops = this.ops;
    this.ops = [];
    this.latest.clear();
    await this.inner.putAll(ops);
  }

  discardDirty(): void {
    this.ops = [];
    this.latest.clear();
  }

  clear(): void {
    this.discardDirty();
  }

  *dirty(): Iterable<{ key: Buffer; value: Buffer | null }> {
    for (const [k, v] of this.latest) yield { key: Buffer.from(k, 'latin1'), value: v };
  }

  async *scan(range: ScanRange): AsyncIterable<[Buffer, Buffer]> {
    const pending = [...this.latest]
      .map(([k, v]) => ({ key: Buffer.from(k, 'latin1'), value: v }))
      .filter((e) => inRange(e.key, range));
    if (!pending.length) {
      yield* this.inner.scan(range);
      return;
    }
    const overlay = new Map(pending.map((e) => [e.key.toString('latin1'), e.value]));
    const out: Array<[Buffer, Buffer]> = [];
    for await (const [k, v] of this.inner.scan(range))
      if (!overlay.has(k.toString('latin1'))) out.push([k, v]);
    for (const e of pending) if (e.value !== null) out.push([e.key, e.value]);
    out.sort((a, b) => Buffer.compare(a[0], b[0]));
    yield* out;
  }
}
