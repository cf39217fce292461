/**
 * Time-window aggregation, tumbling or hopping (epoch-aligned; a hopping window of
 * `sizeMs` starts every `advanceMs`): running aggregates in a window store. By default
 * each window's final result is emitted once, when the clock passes its end + grace (a
 * stream-time punctuation, or an idle advance with `idleCloseMs`); with `emit:
 * 'every-update'` each window's new aggregate is emitted for every record that changes it.
 * Records for a closed window go to the `late` output — or, when nothing reads it, to the
 * dead-letter topic with reason `late` — and are counted. A closed window is marked so in
 * the store, and is never opened again, also after a restart.
 */
import { z } from 'zod';
import type { WindowStore } from '../../state/api.js';
import type { Processor, ProcessorContext, ProcessorCounter, StreamRecord } from '../api.js';
import type { ProcessorDefinition } from '../registry.js';
import { EventClock } from './event-clock.js';
import { inlineFold, type Fold } from './inline.js';
import { OpenWindows } from './open-windows.js';
import { emitOption, idleCloseOption } from './window-options.js';

export type { Fold } from './inline.js';

export const windowOptions = z
  .object({
    store: z.string().min(1),
    sizeMs: z.number().int().positive(),
    graceMs: z.number().int().nonnegative().default(0),
    /** Hopping windows: a new window starts every `advanceMs` (<= sizeMs); absent: tumbling. */
    advanceMs: z.number().int().positive().optional(),
    emit: emitOption,
    idleCloseMs: idleCloseOption,
  })
  .strict()
  .refine((o) => o.advanceMs === undefined || o.advanceMs <= o.sizeMs, {
    message:
      'advanceMs must be at most sizeMs (windows would leave gaps); omit it for tumbling windows',
    path: ['advanceMs'],
  });
export type WindowOptions = z.infer<typeof windowOptions>;

/** Start (epoch ms) of the `sizeMs` window holding `ts`, also for negative timestamps. */
export const windowStart = (ts: number, sizeMs: number): number =>
  ts - (((ts % sizeMs) + sizeMs) % sizeMs);

/** The counters every windowed aggregation reports. */
export function windowCounters(ctx: ProcessorContext): {
  late: ProcessorCounter;
  emitted: ProcessorCounter;
} {
  return {
    late: ctx.metrics.counter('late_records', 'Records later than window end + grace'),
    emitted: ctx.metrics.counter('window_emits', 'Final window results emitted'),
  };
}

/** Sends a late record to the `late` output, or to the dead-letter topic when nothing reads it. */
export function sendLate(ctx: ProcessorContext, late: ProcessorCounter, r: StreamRecord): void {
  late.inc();
  if (ctx.connected('late')) ctx.forward(r, 'late');
  else ctx.deadLetter(r, 'late');
}

export class WindowedAggregateProcessor implements Processor {
  private ctx!: ProcessorContext;
  private store!: WindowStore<unknown, unknown>;
  private counters!: ReturnType<typeof windowCounters>;
  private clock!: EventClock;
  private readonly open = new OpenWindows();
  private readonly span: number;
  private readonly advance: number;

  constructor(
    private readonly o: WindowOptions,
    private readonly fold: Fold,
  ) {
    this.span = o.sizeMs + o.graceMs;
    this.advance = o.advanceMs ?? o.sizeMs;
  }

  async init(ctx: ProcessorContext): Promise<void> {
    this.ctx = ctx;
    this.store = ctx.stores[this.o.store] as WindowStore<unknown, unknown>;
    this.counters = windowCounters(ctx);
    this.clock = new EventClock(ctx, this.o.idleCloseMs);
    // After a restore, the store holds the windows still open: index them again.
    for await (const w of this.store.fetchAll(Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER))
      this.open.add(w.windowStart, w.key);
    ctx.schedule(1, 'stream-time', () => this.closeUpTo(this.clock.now()));
    this.clock.start((now) => this.closeUpTo(now));
  }

  process(r: StreamRecord): void {
    if (r.key === null || r.key === undefined) return; // as Kafka Streams: null keys do not aggregate
    this.clock.touch();
    const now = this.clock.now();
    const last = windowStart(r.timestamp, this.advance);
    // The windows holding the record: starts last, last - advance, … above timestamp - size.
    // Those already closed are skipped; a record whose windows are all closed is late.
    let added = false;
    for (let start = last; start > r.timestamp - this.o.sizeMs; start -= this.advance)
      if (start + this.span > now && this.add(r, start)) added = true;
    if (!added) sendLate(this.ctx, this.counters.late, r);
  }

  /** Folds `r` into its window at `start`; false when that window was closed already. */
  private add(r: StreamRecord, start: number): boolean {
    const current = this.store.fetch(r.key, start);
    if (current === undefined && this.store.isClosed(r.key, start)) return false;
    const agg = this.fold.adder(r.key, r.value, current === undefined ? this.fold.init() : current);
    this.store.put(r.key, agg, start);
    this.open.add(start, r.key);
    if (this.o.emit === 'every-update') this.forward(r.key, start, agg, r.timestamp);
    return true;
  }

  private forward(key: unknown, start: number, value: unknown, timestamp: number): void {
    const window_end = start + this.o.sizeMs;
    this.ctx.forward({ key, value: { window_start: start, window_end, value }, timestamp });
  }

  /** Emits (unless every update was) and marks closed every window whose end + grace is at or before `now`. */
  private closeUpTo(now: number): void {
    if (this.open.earliest() + this.span > now) return;
    for (const { start, keys } of this.open.takeUpTo(now - this.span))
      for (const key of keys) this.closeWindow(key, start);
  }

  private closeWindow(key: unknown, start: number): void {
    const value = this.store.fetch(key, start);
    if (value === undefined) return;
    if (this.o.emit !== 'every-update') {
      this.forward(key, start, value, start + this.o.sizeMs - 1);
      this.counters.emitted.inc();
    }
    this.store.markClosed(key, start);
  }
}

const windowStore = (o: WindowOptions) => [
  {
    name: o.store,
    kind: 'window' as const,
    keySerde: 'string',
    valueSerde: 'json',
    logged: true,
    cache: true,
    retentionMs: o.sizeMs + o.graceMs,
    windowSizeMs: o.sizeMs,
  },
];

export const windowed: ProcessorDefinition<WindowOptions>[] = [
  {
    type: 'windowed-count',
    description:
      'Counts records per key and tumbling (or hopping: advanceMs) window; emits final counts when windows close, or every update (output late: records past end + grace)',
    options: windowOptions,
    stores: windowStore,
    outputs: ['late'],
    counters: ['window_emits', 'late_records'],
    create: (o) =>
      new WindowedAggregateProcessor(o, { init: () => 0, adder: (_k, _v, a) => (a as number) + 1 }),
  },
  {
    type: 'windowed-aggregate',
    description:
      'Folds records per key and tumbling (or hopping: advanceMs) window with init/adder; emits final aggregates when windows close, or every update (output late)',
    options: windowOptions,
    stores: windowStore,
    outputs: ['late'],
    counters: ['window_emits', 'late_records'],
    create: (o, inline) =>
      new WindowedAggregateProcessor(o, inlineFold('windowed-aggregate', inline)),
  },
];
