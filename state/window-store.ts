/**
 * The typed window store (top of its stack): windows of a key at their start times, kept
 * for a retention measured back from the newest window start seen. Byte layout and
 * segments: see segments.ts.
 *
 * "Seen" means flushed: the newest window start advances when writes go down to the
 * segments (at commit, or when a full cache writes behind), not at each put. So within
 * one commit interval a processor can put a new window and still read (and emit) an
 * older one that the new one pushes past retention — what window processors here do.
 */
import type { Serde, WindowedKeyValue, WindowedValue, WindowStore } from './api.js';
import { byteString } from './backend/backend.js';
import type { CachedEntry } from './layer.js';
import { MeteredStore, type StoreStack } from './metered.js';
import {
  decodeWindowKey,
  encodeWindowKey,
  windowStartOf,
  type SegmentedTarget,
} from './segments.js';

export class MeteredWindowStore<K, V> extends MeteredStore implements WindowStore<K, V> {
  readonly kind = 'window' as const;
  // A fetch then a put of the same primitive key and window (read-modify-write) encodes
  // the window key once. Object keys are encoded every time: they may have changed.
  private lastKey: K | undefined;
  private lastStart = NaN;
  private lastWindowKey: Buffer | undefined;

  constructor(
    name: string,
    private readonly keySerde: Serde<K>,
    private readonly valueSerde: Serde<V>,
    private readonly segments: SegmentedTarget,
    stack: StoreStack,
  ) {
    super(name, stack);
  }

  private windowKey(key: K, windowStart: number): Buffer {
    if (key === this.lastKey && windowStart === this.lastStart) return this.lastWindowKey!;
    const bytes = encodeWindowKey(this.keySerde.serialize(key), windowStart);
    if (typeof key !== 'object' && typeof key !== 'function') {
      this.lastKey = key;
      this.lastStart = windowStart;
      this.lastWindowKey = bytes;
    }
    return bytes;
  }

  fetch(key: K, windowStart: number): V | undefined {
    if (windowStart < this.segments.expiredBefore) return undefined;
    const t0 = this.timing ? performance.now() : 0;
    const v = this.layer.get(this.windowKey(key, windowStart));
    if (this.timing) this.timed('get', t0);
    return v === undefined ? undefined : this.valueSerde.deserialize(v);
  }

  put(key: K, value: V | undefined, windowStart: number): void {
    // A write to an expired window is dropped, as in Kafka Streams: it could never be read.
    if (windowStart < this.segments.expiredBefore) return;
    const t0 = this.timing ? performance.now() : 0;
    this.layer.put(
      this.windowKey(key, windowStart),
      value === undefined ? null : this.valueSerde.serialize(value),
      this.stack.timestamp(),
    );
    if (this.timing) this.timed(value === undefined ? 'delete' : 'put', t0);
  }

  async *fetchRange(key: K, timeFrom: number, timeTo: number): AsyncIterable<WindowedValue<V>> {
    const lo = Math.max(timeFrom, this.segments.expiredBefore);
    if (lo > timeTo) return;
    const t0 = this.timing ? performance.now() : 0;
    const k = this.keySerde.serialize(key);
    const range = { gte: encodeWindowKey(k, lo), lte: encodeWindowKey(k, timeTo) };
    for await (const [wk, v] of this.layer.scan(range))
      yield { windowStart: windowStartOf(wk), value: this.valueSerde.deserialize(v) };
    if (this.timing) this.timed('range', t0);
  }

  /**
   * Every key's windows starting in [timeFrom, timeTo], ordered by window start, then by
   * key bytes. Reads one segment into memory at a time.
   */
  async *fetchAll(timeFrom: number, timeTo: number): AsyncIterable<WindowedKeyValue<K, V>> {
    const lo = Math.max(timeFrom, this.segments.expiredBefore);
    if (lo > timeTo) return;
    const t0 = this.timing ? performance.now() : 0;
    const dirty = this.unflushedBySegment(lo, timeTo);
    const segments = new Set([...this.segments.segmentsBetween(lo, timeTo), ...dirty.keys()]);
    for (const s of [...segments].sort((a, b) => a - b))
      yield* await this.readSegment(s, lo, timeTo, dirty.get(s) ?? []);
    if (this.timing) this.timed('range', t0);
  }

  /** Writes not yet sent down with window starts in [lo, hi], by segment (copied: scans see a snapshot). */
  private unflushedBySegment(lo: number, hi: number): Map<number, CachedEntry[]> {
    const out = new Map<number, CachedEntry[]>();
    for (const e of this.layer.unflushed()) {
      const ws = windowStartOf(e.key);
      if (ws < lo || ws > hi) continue;
      const s = this.segments.segmentOf(ws);
      (out.get(s) ?? out.set(s, []).get(s)!).push({ key: e.key, value: e.value });
    }
    return out;
  }

  /** One segment's windows in [lo, hi], overlaid with `dirty`, in (window start, key) order. */
  private async readSegment(
    segment: number,
    lo: number,
    hi: number,
    dirty: CachedEntry[],
  ): Promise<Array<WindowedKeyValue<K, V>>> {
    const merged = new Map<string, CachedEntry>();
    for await (const [key, value] of this.segments.scanSegment(segment, {})) {
      const ws = windowStartOf(key);
      if (ws >= lo && ws <= hi) merged.set(byteString(key), { key, value });
    }
    for (const e of dirty) merged.set(byteString(e.key), e);
    const rows: Array<{ raw: Buffer; windowStart: number; value: Buffer }> = [];
    for (const { key, value } of merged.values()) {
      if (value === null) continue;
      const d = decodeWindowKey(key);
      rows.push({ raw: d.key, windowStart: d.windowStart, value });
    }
    rows.sort((a, b) => a.windowStart - b.windowStart || Buffer.compare(a.raw, b.raw));
    return rows.map((r) => ({
      key: this.keySerde.deserialize(r.raw),
      windowStart: r.windowStart,
      value: this.valueSerde.deserialize(r.value),
    }));
  }
}
