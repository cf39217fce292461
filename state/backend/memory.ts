/**
 * In-memory bytes backend (tests, the test driver, stores that need no durability): a
 * hash map for point reads and an ordered set of keys for range scans. Writes apply
 * synchronously, so they are visible (and "landed") as soon as `write` is called.
 */
import {
  byteString,
  byteStringBounds,
  fromByteString,
  type BytesBackend,
  type ScanRange,
  type WriteOp,
} from './backend.js';
import { SortedSet } from './sorted-set.js';

export class MemoryBackend implements BytesBackend {
  private readonly values = new Map<string, Buffer>();
  private readonly keys = new SortedSet();

  getSync(key: Buffer): Buffer | undefined {
    return this.values.get(byteString(key));
  }

  write(ops: readonly WriteOp[]): Promise<void> {
    for (const op of ops) {
      const k = op.spelling ?? byteString(op.key);
      if (op.value === null) {
        if (this.values.delete(k)) this.keys.delete(k);
      } else {
        if (!this.values.has(k)) this.keys.add(k);
        this.values.set(k, op.value);
      }
    }
    return Promise.resolve();
  }

  load(ops: readonly WriteOp[]): Promise<void> {
    return this.write(ops);
  }

  async *scan(range: ScanRange): AsyncIterable<[Buffer, Buffer]> {
    const { from, below } = byteStringBounds(range);
    for (const k of this.keys.from(from, below)) {
      const v = this.values.get(k);
      if (v !== undefined) yield [fromByteString(k), v];
    }
  }

  clearRange(gte: Buffer, lt: Buffer): Promise<void> {
    const doomed = [...this.keys.from(byteString(gte), byteStringBounds({ lt }).below)];
    for (const k of doomed) {
      this.keys.delete(k);
      this.values.delete(k);
    }
    return Promise.resolve();
  }

  settled(): Promise<void> {
    return Promise.resolve();
  }

  approximateCount(): number {
    return this.values.size;
  }

  async close(): Promise<void> {}

  async destroy(): Promise<void> {
    this.values.clear();
    this.keys.clear();
  }
}
