/**
 * Window-store byte layout and time segments.
 *
 * Window key (what the cache and the changelog see, so restore rebuilds windows):
 *   [key length u32][key bytes][windowStart i64 BE, sign bit flipped]
 * Stored key (in the backend):
 *   [segment id u64 BE][window key]
 *
 * Why this order: the segment id first lets a whole segment of expired windows go with
 * one range delete, and keeps a scan inside the segments the time range touches. Key
 * before time makes one key's windows contiguous within a segment, so fetch and
 * fetchRange (the common reads) are a seek and a short scan. The length prefix stops a
 * key from interleaving with longer keys that start with the same bytes ("AAP" and
 * "AAPL"). Big-endian window starts with the sign bit flipped sort in time order.
 */
import type { BytesBackend, ScanRange, WriteOp } from './backend/backend.js';
import type { LoggedTarget } from './changelogging.js';

const TWO32 = 4294967296;
const SEGMENT_BYTES = 8;

/** Writes `v` as 8 bytes whose byte order is numeric order (sign bit flipped, big-endian). */
export function writeI64Ordered(out: Buffer, v: number, at: number): void {
  const hi = Math.floor(v / TWO32);
  out.writeUInt32BE((hi ^ 0x80000000) >>> 0, at);
  out.writeUInt32BE(v - hi * TWO32, at + 4);
}

/** Reads what `writeI64Ordered` wrote. */
export function readI64Ordered(b: Buffer, at: number): number {
  return ((b.readUInt32BE(at) ^ 0x80000000) | 0) * TWO32 + b.readUInt32BE(at + 4);
}

/** The window key of `key`'s window starting at `windowStart` (epoch ms). */
export function encodeWindowKey(key: Buffer, windowStart: number): Buffer {
  const out = Buffer.allocUnsafe(4 + key.length + 8);
  out.writeUInt32BE(key.length, 0);
  key.copy(out, 4);
  writeI64Ordered(out, windowStart, 4 + key.length);
  return out;
}

export function windowStartOf(windowKey: Buffer): number {
  return readI64Ordered(windowKey, windowKey.length - 8);
}

export function decodeWindowKey(windowKey: Buffer): { key: Buffer; windowStart: number } {
  return {
    key: windowKey.subarray(4, windowKey.length - 8),
    windowStart: windowStartOf(windowKey),
  };
}

function segmentPrefix(segment: number): Buffer {
  const b = Buffer.allocUnsafe(SEGMENT_BYTES);
  writeI64Ordered(b, segment, 0);
  return b;
}

function storedKey(segment: number, windowKey: Buffer): Buffer {
  const out = Buffer.allocUnsafe(SEGMENT_BYTES + windowKey.length);
  writeI64Ordered(out, segment, 0);
  windowKey.copy(out, SEGMENT_BYTES);
  return out;
}

/**
 * Maps window keys onto segments of a bytes backend, hides windows past retention and
 * drops whole segments once every window in them is past retention.
 */
export class SegmentedTarget implements LoggedTarget {
  /**
   * Newest window start seen (epoch ms): of every window written to the backend, loaded
   * into it by a restore, or found in it at open. Retention is measured back from it, and
   * no window newer than it is in the backend.
   */
  observed = Number.MIN_SAFE_INTEGER;
  /** Segments that may hold data in the backend. */
  private readonly live = new Set<number>();

  constructor(
    private readonly backend: BytesBackend,
    readonly retentionMs: number,
    readonly segmentMs: number,
  ) {}

  segmentOf(windowStart: number): number {
    return Math.floor(windowStart / this.segmentMs);
  }

  /** Windows starting before this (epoch ms) are expired. */
  get expiredBefore(): number {
    return this.observed - this.retentionMs;
  }

  observe(windowStart: number): void {
    if (windowStart > this.observed) this.observed = windowStart;
  }

  getSync(windowKey: Buffer): Buffer | undefined {
    if (!this.mayContain(windowKey)) return undefined;
    return this.backend.getSync(storedKey(this.segmentOf(windowStartOf(windowKey)), windowKey));
  }

  /**
   * False when the window cannot be in the backend: expired, or newer than every window
   * written, loaded or found at open (`observed` follows each). A dedupe store's keys are
   * mostly new, so most of its reads end here instead of in LevelDB.
   */
  mayContain(windowKey: Buffer): boolean {
    const ws = windowStartOf(windowKey);
    return ws >= this.expiredBefore && ws <= this.observed;
  }

  /** Writes window keys into their segments; skips expired windows, then drops old segments. */
  write(ops: readonly WriteOp[]): Promise<void> {
    return this.apply(ops, false);
  }

  load(ops: readonly WriteOp[]): Promise<void> {
    return this.apply(ops, true);
  }

  private apply(ops: readonly WriteOp[], load: boolean): Promise<void> {
    const out: WriteOp[] = [];
    for (const op of ops) {
      const ws = windowStartOf(op.key);
      this.observe(ws);
      if (ws < this.expiredBefore) continue;
      const segment = this.segmentOf(ws);
      this.live.add(segment);
      out.push({ key: storedKey(segment, op.key), value: op.value });
    }
    const written = load ? this.backend.load(out) : this.backend.write(out);
    const writes = [written, ...this.dropExpiredSegments()];
    return Promise.all(writes).then(() => {});
  }

  private dropExpiredSegments(): Array<Promise<void>> {
    const drops: Array<Promise<void>> = [];
    for (const s of this.live) {
      if ((s + 1) * this.segmentMs > this.expiredBefore) continue;
      drops.push(this.backend.clearRange(segmentPrefix(s), segmentPrefix(s + 1)));
      this.live.delete(s);
    }
    return drops;
  }

  settled(): Promise<void> {
    return this.backend.settled();
  }

  /** Live segments that may hold windows starting in [fromTs, toTs], ascending. */
  segmentsBetween(fromTs: number, toTs: number): number[] {
    const lo = this.segmentOf(fromTs);
    const hi = this.segmentOf(toTs);
    return [...this.live].filter((s) => s >= lo && s <= hi).sort((a, b) => a - b);
  }

  /** Window keys of one segment within `range` (window-key bounds), in byte order. */
  async *scanSegment(segment: number, range: ScanRange): AsyncIterable<[Buffer, Buffer]> {
    const r: ScanRange = {
      gte: range.gte ? storedKey(segment, range.gte) : segmentPrefix(segment),
      lt: segmentPrefix(segment + 1),
    };
    if (range.lte) r.lte = storedKey(segment, range.lte);
    if (range.lt) r.lt = storedKey(segment, range.lt);
    const expiredBefore = this.expiredBefore;
    for await (const [k, v] of this.backend.scan(r)) {
      const windowKey = k.subarray(SEGMENT_BYTES);
      if (windowStartOf(windowKey) >= expiredBefore) yield [windowKey, v];
    }
  }

  /**
   * Window keys in `range`, in byte order. Ranges within one key's windows (what
   * fetchRange asks) walk the segments its times touch, in order; other ranges merge
   * every live segment.
   */
  async *scan(range: ScanRange): AsyncIterable<[Buffer, Buffer]> {
    const bounds = this.sameKeyTimes(range);
    if (bounds) {
      for (const s of this.segmentsBetween(bounds[0], bounds[1])) yield* this.scanSegment(s, range);
      return;
    }
    const all: Array<[Buffer, Buffer]> = [];
    for (const s of this.segmentsBetween(this.expiredBefore, Number.MAX_SAFE_INTEGER))
      for await (const kv of this.scanSegment(s, range)) all.push(kv);
    yield* all.sort((a, b) => Buffer.compare(a[0], b[0]));
  }

  /** The window starts bounding `range` when both ends are windows of the same key. */
  private sameKeyTimes(range: ScanRange): [number, number] | undefined {
    const { gte, lte } = range;
    if (!gte || !lte || range.lt || gte.length !== lte.length) return undefined;
    if (gte.compare(lte, 0, lte.length - 8, 0, gte.length - 8) !== 0) return undefined;
    return [windowStartOf(gte), windowStartOf(lte)];
  }

  /** Learns the live segments and the newest window start of a reopened store. */
  async recover(): Promise<void> {
    // One seek per segment, then a walk of the newest segment only.
    let last: number | undefined;
    for (let first = await firstKey(this.backend, Buffer.alloc(0)); first;) {
      last = readI64Ordered(first, 0);
      this.live.add(last);
      first = await firstKey(this.backend, segmentPrefix(last + 1));
    }
    if (last === undefined) return;
    for await (const [k] of this.backend.scan({
      gte: segmentPrefix(last),
      lt: segmentPrefix(last + 1),
    }))
      this.observe(windowStartOf(k));
  }
}

async function firstKey(backend: BytesBackend, gte: Buffer): Promise<Buffer | undefined> {
  for await (const [k] of backend.scan({ gte })) return k;
  return undefined;
}
