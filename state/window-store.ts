/**
 * The typed window store (top of its stack): windows of a key at their start times, kept
 * for a retention measured back from the newest window start seen. Byte layout and
 * segments: see segments.ts.
 *
 * A window can be marked closed (`markClosed`): its value is dropped and an empty value
 * kept in its place until retention removes it, so a processor that emitted the window's
 * final result knows — also after a restart — never to open it again. Empty values are
 * therefore reserved: a value that serializes to zero bytes is refused.
 *
 * "Seen" means flushed: the newest window start advances when writes go down to the
 * segments (at commit, or when a full cache writes behind), not at each put. So within
 * one commit interval a processor can put a new window and still read (and emit) an
 * older one that the new one pushes past retention — what window processors here do.
 */
import type { Serde, WindowedKeyValue, WindowedValue, WindowStore } from './api.js';
import { StateStoreError } from './errors.js';
import { MeteredStore, type StoreStack } from './metered.js';
import { scanSegments } from './segment-scan.js';
import {
  decodeWindowKey,
  encodeWindowKey,
  windowStartOf,
  type SegmentedTarget,
} from './segments.js';

/** The value kept for a window marked closed (see `markClosed`). */
export const CLOSED = Buffer.alloc(0);

/** The bytes of `value`; an empty serialization is refused (it marks closed windows). */
export function valueBytes<V>(store: string, serde: Serde<V>, value: V): Buffer {
  const b = serde.serialize(value);
  if (b.length === 0)
    throw new StateStoreError(
      `store "${store}": a value serialized to zero bytes, which marks a closed window; use a serde that never writes empty values (json does), or wrap the value`,
      { code: 'STORE_EMPTY_VALUE', domain: 'user' },
    );
  return b;
}

/** Window keys of equal start, by the bytes of the user's key. */
const byUserKey = (a: Buffer, b: Buffer): number =>
  Buffer.compare(decodeWindowKey(a).key, decodeWindowKey(b).key);

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

  private raw(key: K, windowStart: number): Buffer | undefined {
    if (windowStart < this.segments.expiredBefore) return undefined;
    const t0 = this.timing ? performance.now() : 0;
    const v = this.layer.get(this.windowKey(key, windowStart));
    if (this.timing) this.timed('get', t0);
    return v;
  }

  fetch(key: K, windowStart: number): V | undefined {
    const v = this.raw(key, windowStart);
    return v === undefined || v.length === 0 ? undefined : this.valueSerde.deserialize(v);
  }

  isClosed(key: K, windowStart: number): boolean {
    return this.raw(key, windowStart)?.length === 0;
  }

  put(key: K, value: V | undefined, windowStart: number): void {
    this.write(
      key,
      windowStart,
      value === undefined ? null : valueBytes(this.name, this.valueSerde, value),
    );
  }

  markClosed(key: K, windowStart: number): void {
    this.write(key, windowStart, CLOSED);
  }

  private write(key: K, windowStart: number, bytes: Buffer | null): void {
    // A write to an expired window is dropped, as in Kafka Streams: it could never be read.
    if (windowStart < this.segments.expiredBefore) return;
    const t0 = this.timing ? performance.now() : 0;
    this.layer.put(this.windowKey(key, windowStart), bytes, this.stack.timestamp());
    if (this.timing) this.timed(bytes === null ? 'delete' : 'put', t0);
  }

  async *fetchRange(key: K, timeFrom: number, timeTo: number): AsyncIterable<WindowedValue<V>> {
    const lo = Math.max(timeFrom, this.segments.expiredBefore);
    if (lo > timeTo) return;
    const t0 = this.timing ? performance.now() : 0;
    const k = this.keySerde.serialize(key);
    const range = { gte: encodeWindowKey(k, lo), lte: encodeWindowKey(k, timeTo) };
    for await (const [wk, v] of this.layer.scan(range))
      if (v.length) yield { windowStart: windowStartOf(wk), value: this.valueSerde.deserialize(v) };
    if (this.timing) this.timed('range', t0);
  }

  /**
   * Every key's windows starting in [timeFrom, timeTo], ordered by window start, then by
   * key bytes. Reads one segment into memory at a time. Closed windows are left out.
   */
  async *fetchAll(timeFrom: number, timeTo: number): AsyncIterable<WindowedKeyValue<K, V>> {
    for await (const w of this.fetchAllWithClosed(timeFrom, timeTo))
      if (w.value !== undefined) yield w as WindowedKeyValue<K, V>;
  }

  /** As `fetchAll`, with closed windows too (their `value` undefined). */
  async *fetchAllWithClosed(
    timeFrom: number,
    timeTo: number,
  ): AsyncIterable<WindowedKeyValue<K, V | undefined>> {
    const lo = Math.max(timeFrom, this.segments.expiredBefore);
    if (lo > timeTo) return;
    const t0 = this.timing ? performance.now() : 0;
    const range = { lo, hi: timeTo };
    for await (const rows of scanSegments(this.layer, this.segments, range, byUserKey)) {
      for (const { key, value } of rows) {
        const d = decodeWindowKey(key);
        yield {
          key: this.keySerde.deserialize(d.key),
          windowStart: d.windowStart,
          value: value.length ? this.valueSerde.deserialize(value) : undefined,
        };
      }
    }
    if (this.timing) this.timed('range', t0);
  }
}
