/**
 * Time-window aggregation, tumbling or hopping (epoch-aligned; a hopping window of
 * `sizeMs` starts every `advanceMs`): running aggregates in a window store,
 * each window's final result emitted once when stream time passes its end + grace (a
 * stream-time punctuation), records for a closed window sent to the `late` output — or,
 * when nothing reads it, to the dead-letter topic with reason `late` — and counted.
 */
import { z } from 'zod';
import type { WindowStore } from '../../state/api.js';
import type { Processor, ProcessorContext, ProcessorCounter, StreamRecord } from '../api.js';
import type { ProcessorDefinition } from '../registry.js';
import { inlineFold, type Fold } from './inline.js';
import { OpenWindows } from './open-windows.js';

export const windowOptions = z
  .object({
    store: z.string().min(1),
    sizeMs: z.number().int().positive(),
    graceMs: z.number().int().nonnegative().default(0),
    /** Hopping windows: a new window starts every `advanceMs` (<= sizeMs); absent: tumbling. */
    advanceMs: z.number().int().positive().optional(),
  })
  .strict()
  .refine((o) => o.advanceMs === undefined || o.advanceMs <= o.sizeMs, {
    message:
      'advanceMs must be at most sizeMs (windows would leave gaps); omit it for tumbling windows',
    path: ['advanceMs'],
  });
export type WindowOptions = z.infer<typeof windowOptions>;

export type { Fold } from './inline.js';

/** Start (epoch ms) of the `sizeMs` window holding `ts`, also for negative timestamps. */
export const windowStart = (ts: number, sizeMs: number): number =>
  ts - (((ts % sizeMs) + sizeMs) % sizeMs);

export class WindowedAggregateProcessor implements Processor {
  private ctx!: ProcessorContext;
  private store!: WindowStore<unknown, unknown>;
  private late!: ProcessorCounter;
  private emitted!: ProcessorCounter;
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

  async init(ctx: ProcessorContext<unknown, unknown, Record<string, unknown>>): Promise<void> {
    this.ctx = ctx;
    this.store = ctx.stores[this.o.store] as WindowStore<unknown, unknown>;
    this.late = ctx.metrics.counter('late_records', 'Records later than window end + grace');
    this.emitted = ctx.metrics.counter('window_emits', 'Final window results emitted');
    // After a restore, the store holds the windows still open: index them again.
    for await (const w of this.store.fetchAll(0, Number.MAX_SAFE_INTEGER))
      this.open.add(w.windowStart, w.key);
    ctx.schedule(1, 'stream-time', (now) => this.closeUpTo(now));
  }

  process(r: StreamRecord): void {
    if (r.key === null || r.key === undefined) return; // as Kafka Streams: null keys do not aggregate
    const now = this.ctx.streamTime();
    const last = windowStart(r.timestamp, this.advance);
    // The windows holding the record: starts last, last - advance, … above timestamp - size.
    // Those already closed are skipped; a record whose windows are all closed is late.
    let added = false;
    for (let start = last; start > r.timestamp - this.o.sizeMs; start -= this.advance) {
      if (start + this.span <= now) continue;
      const current = this.store.fetch(r.key, start);
      this.store.put(
        r.key,
        this.fold.adder(r.key, r.value, current === undefined ? this.fold.init() : current),
        start,
      );
      this.open.add(start, r.key);
      added = true;
    }
    if (!added) this.onLate(r);
  }

  private onLate(r: StreamRecord): void {
    this.late.inc();
    if (this.ctx.connected('late')) this.ctx.forward(r, 'late');
    else this.ctx.deadLetter(r, 'late');
  }

  /** Emits and forgets every window whose end + grace is at or before `now`. */
  private closeUpTo(now: number): void {
    if (this.open.earliest() + this.span > now) return;
    for (const { start, keys } of this.open.takeUpTo(now - this.span))
      for (const key of keys) this.emit(key, start);
  }

  private emit(key: unknown, start: number): void {
    const value = this.store.fetch(key, start);
    if (value === undefined) return;
    const end = start + this.o.sizeMs;
    this.ctx.forward({
      key,
      value: { window_start: start, window_end: end, value },
      timestamp: end - 1,
    });
    this.emitted.inc();
    this.store.put(key, undefined, start);
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
      'Counts records per key and tumbling (or hopping: advanceMs) window; emits final counts when windows close (output late: records past end + grace)',
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
      'Folds records per key and tumbling (or hopping: advanceMs) window with init/adder; emits final aggregates when windows close (output late)',
    options: windowOptions,
    stores: windowStore,
    outputs: ['late'],
    counters: ['window_emits', 'late_records'],
    create: (o, inline) =>
      new WindowedAggregateProcessor(o, inlineFold('windowed-aggregate', inline)),
  },
];
