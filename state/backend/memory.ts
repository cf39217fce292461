/**
 * In-memory bytes backend. Keys live in a Map under their latin1 spelling (one char per
 * byte, so string order is byte order); the sorted key list is rebuilt only when a scan
 * follows an insertion of a new key.
 */
import { inRange, type BytesBackend, type ScanRange, type WriteOp } from './backend.js';

export class MemoryBackend implements BytesBackend {
  private readonly map = new Map<string, Buffer>();
  private sorted: string[] | undefined = [];

  getSync(key: Buffer): Buffer | undefined {
    return this.map.get(key.toString('latin1'));
  }

  async write(ops: readonly WriteOp[]): Promise<void> {
    for (const op of ops) {
      const k = op.key.toString('latin1');
      if (op.value === null) {
        if (this.map.delete(k)) this.sorted = undefined;
      } else {
        if (!this.map.has(k)) this.sorted = undefined;
        this.map.set(k, op.value);
      }
    }
  }

  private keys(): string[] {
    if (!this.sorted) this.sorted = [...this.map.keys()].sort();
    return this.sorted;
  }

  async *scan(range: ScanRange): AsyncIterable<[Buffer, Buffer]> {
    const keys = this.keys();
    let i = range.gte ? lowerBound(keys, range.gte.toString('latin1')) : 0;
    for (; i < keys.length; i++) {
      const k = Buffer.from(keys[i]!, 'latin1');
      if (!inRange(k, range)) {
        if (
          (range.lte && Buffer.compare(k, range.lte) > 0) ||
          (range.lt && Buffer.compare(k, range.lt) >= 0)
        )
          return;
        continue;
      }
      const v = this.map.get(keys[i]!);
      if (v !== undefined) yield [k, v];
    }
  }

  async clearRange(gte: Buffer, lt: Buffer): Promise<void> {
    const ops: WriteOp[] = [];
    for await (const [k] of this.scan({ gte, lt })) ops.push({ key: k, value: null });
    await this.write(ops);
  }

  async approximateCount(): Promise<number> {
    return this.map.size;
  }

  async close(): Promise<void> {}
}

function lowerBound(a: string[], x: string): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
