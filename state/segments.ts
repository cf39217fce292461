/**
 * Window-store byte layout and time segments.
 *
 * Logical key (what the cache and the changelog see): [key length u32][key][windowStart i64].
 * Stored key: [segment id u64][logical key]. The segment prefix lets a whole segment of old
 * windows expire with one range delete; the length prefix keeps one key's windows
 * contiguous even when another key starts with the same bytes; big-endian window starts
 * keep a key's windows in time order.
 */
import { prefixEnd, type BytesBackend, type ScanRange, type WriteOp } from './backend/backend.js';
import type { LoggedTarget } from './changelogging.js';

const TS_BIAS = 0x8000000000000000n;

export function encodeWindowKey(key: Buffer, windowStart: number): Buffer {
  const out = Buffer.allocUnsafe(4 + key.length + 8);
  out.writeUInt32BE(key.length, 0);
  key.copy(out, 4);
  out.writeBigUInt64BE(BigInt(windowStart) + TS_BIAS, 4 + key.length);
  return out;
}

export function decodeWindowKey(logical: Buffer): { key: Buffer; windowStart: number } {
  const len = logical.readUInt32BE(0);
  return {
    key: logical.subarray(4, 4 + len),
    windowStart: Number(logical.readBigUInt64BE(4 + len) - TS_BIAS),
  };
}

function segmentPrefix(segment: number): Buffer {
  const b = Buffer.allocUnsafe(8);
  b.writeBigUInt64BE(BigInt(segment));
  return b;
}

/** Maps logical window keys onto segments of the backend and expires old segments. */
export class SegmentedTarget implements LoggedTarget {
  /** Newest window start seen (drives retention). */
  observed = Number.MIN_SAFE_INTEGER;
  private readonly live = new Set<number>();

  constructor(
    private readonly backend: BytesBackend,
    readonly retentionMs: number,
    readonly segmentMs: number,
  ) {}

  segmentOf(windowStart: number): number {
    return Math.max(0, Math.floor(windowStart / this.segmentMs));
  }

  /** Windows starting before this are expired. */
  get expiredBefore(): number {
    return this.observed - this.retentionMs;
  }

  private stored(logical: Buffer): Buffer {
    return Buffer.concat([
      segmentPrefix(this.segmentOf(decodeWindowKey(logical).windowStart)),
      logical,
    ]);
  }

  getSync(logical: Buffer): Buffer | undefined {
    if (decodeWindowKey(logical).windowStart < this.expiredBefore) return undefined;
    return this.backend.getSync(this.stored(logical));
  }

  async write(ops: readonly WriteOp[]): Promise<void> {
    const out: WriteOp[] = [];
    for (const op of ops) {
      const ws = decodeWindowKey(op.key).windowStart;
      this.observed = Math.max(this.observed, ws);
      if (op.value !== null && ws < this.expiredBefore) continue;
      this.live.add(this.segmentOf(ws));
      out.push({ key: this.stored(op.key), value: op.value });
    }
    await this.backend.write(out);
    await this.dropExpiredSegments();
  }

  private async dropExpiredSegments(): Promise<void> {
    const minLive = this.segmentOf(this.expiredBefore);
    for (const s of [...this.live]) {
      // A segment is dropped only when every window in it is past retention.
      if ((s + 1) * this.segmentMs <= this.expiredBefore && s < minLive) {
        await this.backend.clearRange(segmentPrefix(s), segmentPrefix(s + 1));
        this.live.delete(s);
      }
    }
  }

  /** Scans logical keys in [from, to] windows of all segments that may hold them. */
  async *scanWindows(
    fromTs: number,
    toTs: number,
    keyPrefix?: Buffer,
  ): AsyncIterable<[Buffer, Buffer]> {
    const lo = Math.max(fromTs, this.expiredBefore);
    if (lo > toTs) return;
    const segments = [...this.live]
      .filter((s) => s >= this.segmentOf(lo) && s <= this.segmentOf(toTs))
      .sort((a, b) => a - b);
    for (const s of segments) {
      const seg = segmentPrefix(s);
      const range: ScanRange = keyPrefix
        ? { gte: Buffer.concat([seg, keyPrefix]), lt: Buffer.concat([seg, prefixEnd(keyPrefix)]) }
        : { gte: seg, lt: segmentPrefix(s + 1) };
      for await (const [k, v] of this.backend.scan(range)) {
        const logical = k.subarray(8);
        const ws = decodeWindowKey(logical).windowStart;
        if (ws >= lo && ws <= toTs) yield [logical, v];
      }
    }
  }

  /** Logical-key scans (used by the cache overlay); only whole-store scans are needed. */
  async *scan(range: ScanRange): AsyncIterable<[Buffer, Buffer]> {
    const all: Array<[Buffer, Buffer]> = [];
    for await (const kv of this.scanWindows(Number.MIN_SAFE_INTEGER + 1, Number.MAX_SAFE_INTEGER)) {
      if (
        (!range.gte || Buffer.compare(kv[0], range.gte) >= 0) &&
        (!range.lte || Buffer.compare(kv[0], range.lte) <= 0) &&
        (!range.lt || Buffer.compare(kv[0], range.lt) < 0)
      )
        all.push(kv);
    }
    all.sort((a, b) => Buffer.compare(a[0], b[0]));
    yield* all;
  }

  /** Learns the live segments of a reopened store. */
  async recover(): Promise<void> {
    for await (const [k] of this.backend.scan({})) {
      const logical = k.subarray(8);
      this.live.add(Number(k.readBigUInt64BE(0)));
      this.observed = Math.max(this.observed, decodeWindowKey(logical).windowStart);
    }
  }
}
