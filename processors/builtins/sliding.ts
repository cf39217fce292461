/**
 * Sliding windows (Kafka Streams' SlidingWindows): windows of `sizeMs` (the time
 * difference) defined by the records themselves. For each record at `t` there is a window
 * `[t - size, t]` (both ends inclusive), and `[t + 1, t + 1 + size]` when a later record
 * of the key falls in it; each window aggregates the key's records whose times it holds.
 * So a window exists for every distinct set of records no more than `sizeMs` apart, and no
 * empty window is ever made. (Unlike Kafka Streams, windows may start before the epoch:
 * records earlier than `sizeMs` after it get no special `[0, size]` window.)
 *
 * A window closes once the clock is past its end + grace: its final result is emitted
 * (or, with `emit: 'every-update'`, each change was) and the store marks it closed. A
 * record is late when it can change no open window (its time + 1 + size + grace is before
 * the clock). The key's records are kept (in a second window store, by time) for as long
 * as a window holding them can still be made, so a new window's aggregate is folded from
 * the records it holds — aggregations should not depend on the order of records.
 */
import { z } from 'zod';
import type { WindowStore } from '../../state/api.js';
import type { Processor, ProcessorContext, StreamRecord } from '../api.js';
import type { ProcessorDefinition } from '../registry.js';
import { EventClock } from './event-clock.js';
import { inlineFold, type Fold } from './inline.js';
import { keyIdentity } from './key-identity.js';
import { SlidingKey } from './sliding-index.js';
import { TimeQueue } from './time-queue.js';
import { emitOption, idleCloseOption } from './window-options.js';
import { sendLate, windowCounters } from './windowed.js';

export const slidingOptions = z
  .object({
    /** The windows' store; the records are kept in `<store>-records`. */
    store: z.string().min(1),
    /** The time difference: records at most this far apart share a window (ms). */
    sizeMs: z.number().int().positive(),
    graceMs: z.number().int().nonnegative().default(0),
    emit: emitOption,
    idleCloseMs: idleCloseOption,
  })
  .strict();
export type SlidingOptions = z.infer<typeof slidingOptions>;

interface Due {
  entry: SlidingKey;
  time: number;
}

export class SlidingAggregateProcessor implements Processor {
  private ctx!: ProcessorContext;
  private windows!: WindowStore<unknown, unknown>;
  private records!: WindowStore<unknown, unknown[]>;
  private counters!: ReturnType<typeof windowCounters>;
  private clock!: EventClock;
  private readonly keys = new Map<unknown, SlidingKey>();
  /** Windows by the time they close (start + size + grace); records by when they can be forgotten. */
  private readonly closing = new TimeQueue<Due>();
  private readonly forgetting = new TimeQueue<Due & { what: 'time' | 'window' }>();

  constructor(
    private readonly o: SlidingOptions,
    private readonly fold: Fold,
  ) {}

  /** The last clock time at which the window (or a window holding the record) at `t` is open. */
  private openUntil(t: number): number {
    return t + this.o.sizeMs + this.o.graceMs;
  }

  async init(ctx: ProcessorContext): Promise<void> {
    this.ctx = ctx;
    this.windows = ctx.stores[this.o.store] as WindowStore<unknown, unknown>;
    this.records = ctx.stores[`${this.o.store}-records`] as WindowStore<unknown, unknown[]>;
    this.counters = windowCounters(ctx);
    this.clock = new EventClock(ctx, this.o.idleCloseMs);
    await this.rebuild();
    ctx.schedule(1, 'stream-time', () => this.closeUpTo(this.clock.now()));
    this.clock.start((now) => this.closeUpTo(now));
  }

  /** After a restore: the records and windows (closed ones too) the stores hold. */
  private async rebuild(): Promise<void> {
    const [lo, hi] = [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER];
    for await (const r of this.records.fetchAll(lo, hi))
      this.addTime(this.entry(r.key), r.windowStart);
    for await (const w of this.windows.fetchAllWithClosed(lo, hi)) {
      const entry = this.entry(w.key);
      entry.addWindow(w.windowStart, w.value === undefined);
      if (w.value === undefined) this.forget(entry, w.windowStart, 'window');
      else this.closing.push(this.openUntil(w.windowStart), { entry, time: w.windowStart });
    }
  }

  private entry(key: unknown): SlidingKey {
    const id = keyIdentity(key);
    let e = this.keys.get(id);
    if (!e) this.keys.set(id, (e = new SlidingKey(key)));
    return e;
  }

  private addTime(entry: SlidingKey, t: number): boolean {
    const fresh = entry.addTime(t);
    if (fresh) this.forget(entry, t, 'time');
    return fresh;
  }

  private forget(entry: SlidingKey, time: number, what: 'time' | 'window'): void {
    this.forgetting.push(this.openUntil(time), { entry, time, what });
  }

  process(r: StreamRecord): void {
    // As in Kafka Streams: records without key or value do not aggregate.
    if (r.key === null || r.key === undefined || r.value === null || r.value === undefined) return;
    this.clock.touch();
    const now = this.clock.now();
    const t = r.timestamp;
    if (this.openUntil(t + 1) < now) return sendLate(this.ctx, this.counters.late, r);
    const entry = this.entry(r.key);
    for (const start of entry.startsIn(t - this.o.sizeMs, t))
      if (!entry.closed.has(start) && this.openUntil(start) >= now) this.update(entry, start, r);
    this.records.put(r.key, [...(this.records.fetch(r.key, t) ?? []), r.value], t);
    if (!this.addTime(entry, t)) return; // a known time: no new window
    for (const start of this.newWindows(entry, t))
      if (!entry.hasWindow(start) && this.openUntil(start) >= now) this.create(entry, start, t);
  }

  /** Starts of the windows a record at the new time `t` makes non-empty. */
  private newWindows(entry: SlidingKey, t: number): number[] {
    const size = this.o.sizeMs;
    const starts = [t - size];
    if (entry.timesIn(t + 1, t + 1 + size).length) starts.push(t + 1);
    const p = entry.before(t);
    if (p !== undefined && t <= p + 1 + size) starts.push(p + 1);
    return starts;
  }

  private update(entry: SlidingKey, start: number, r: StreamRecord): void {
    const agg = this.fold.adder(r.key, r.value, this.windows.fetch(entry.key, start));
    this.windows.put(entry.key, agg, start);
    if (this.o.emit === 'every-update') this.forward(entry.key, start, agg, r.timestamp);
  }

  /** A new window: the fold of the records it holds (the new one included). */
  private create(entry: SlidingKey, start: number, timestamp: number): void {
    let agg = this.fold.init();
    for (const time of entry.timesIn(start, start + this.o.sizeMs))
      for (const v of this.records.fetch(entry.key, time) ?? [])
        agg = this.fold.adder(entry.key, v, agg);
    this.windows.put(entry.key, agg, start);
    entry.addWindow(start, false);
    this.closing.push(this.openUntil(start), { entry, time: start });
    if (this.o.emit === 'every-update') this.forward(entry.key, start, agg, timestamp);
  }

  private forward(key: unknown, start: number, value: unknown, timestamp: number): void {
    const window_end = start + this.o.sizeMs;
    this.ctx.forward({ key, value: { window_start: start, window_end, value }, timestamp });
  }

  /** Emits (unless every update was) and marks closed every window the clock is past. */
  private closeUpTo(now: number): void {
    for (const { entry, time } of this.closing.takeUpTo(now - 1)) {
      if (!entry.hasWindow(time) || entry.closed.has(time)) continue;
      const value = this.windows.fetch(entry.key, time);
      if (this.o.emit !== 'every-update' && value !== undefined) {
        this.forward(entry.key, time, value, time + this.o.sizeMs);
        this.counters.emitted.inc();
      }
      this.windows.markClosed(entry.key, time);
      entry.forgetWindow(time); // never a candidate again: the clock does not go back
    }
    for (const { entry, time, what } of this.forgetting.takeUpTo(now - 1)) {
      if (what === 'time') entry.forgetTime(time);
      else entry.forgetWindow(time);
      if (entry.empty) this.keys.delete(keyIdentity(entry.key));
    }
  }
}

const stores = (o: SlidingOptions) => {
  // A window (or record) older than this can never be opened (or needed) again.
  const retentionMs = 2 * o.sizeMs + o.graceMs + 1;
  const common = { keySerde: 'string', valueSerde: 'json', logged: true, cache: true };
  return [
    { ...common, name: o.store, kind: 'window' as const, retentionMs, windowSizeMs: o.sizeMs },
    { ...common, name: `${o.store}-records`, kind: 'window' as const, retentionMs },
  ];
};

const count: Fold = { init: () => 0, adder: (_k, _v, n) => (n as number) + 1 };

export const sliding: ProcessorDefinition<SlidingOptions>[] = [
  {
    type: 'sliding-count',
    description:
      'Counts records per key and sliding window (records at most sizeMs apart); emits final counts when windows close, or every update (output late)',
    options: slidingOptions,
    stores,
    outputs: ['late'],
    counters: ['window_emits', 'late_records'],
    create: (o) => new SlidingAggregateProcessor(o, count),
  },
  {
    type: 'sliding-aggregate',
    description:
      'Folds records per key and sliding window with init/adder; emits final aggregates when windows close, or every update (output late)',
    options: slidingOptions,
    stores,
    outputs: ['late'],
    counters: ['window_emits', 'late_records'],
    create: (o, inline) =>
      new SlidingAggregateProcessor(o, inlineFold('sliding-aggregate', inline)),
  },
];
