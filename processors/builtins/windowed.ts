/**
 * Tumbling-window aggregation (epoch-aligned): running aggregates in a window store,
 * each window's final result emitted once when stream time passes its end + grace,
 * records for a closed window dead-lettered with reason `late`.
 */
import { z } from 'zod';
import type { WindowStore } from '../../state/api.js';
import type { Processor, ProcessorContext, ProcessorCounter, StreamRecord } from '../api.js';
import type { ProcessorDefinition } from '../registry.js';

export const windowOptions = z
  .object({
    store: z.string().min(1),
    sizeMs: z.number().int().positive(),
    graceMs: z.number().int().nonnegative().default(0),
  })
  .strict();
type WindowOptions = z.infer<typeof windowOptions>;

export class WindowedAggregateProcessor implements Processor {
  private ctx!: ProcessorContext;
  private store!: WindowStore<unknown, unknown>;
  private late!: ProcessorCounter;
  private readonly open = new Map<number, Map<string, unknown>>();

  constructor(
    private readonly o: WindowOptions,
    private readonly fns: {
      init: () => unknown;
      adder: (k: unknown, v: unknown, a: unknown) => unknown;
    },
  ) {}

  async init(ctx: ProcessorContext<unknown, unknown, Record<string, unknown>>) {
    this.ctx = ctx;
    this.store = ctx.stores[this.o.store] as WindowStore<unknown, unknown>;
    this.late = ctx.metrics.counter('late_records', 'Records later than window end + grace');
    for await (const w of this.store.fetchAll(0, Number.MAX_SAFE_INTEGER))
      this.track(w.windowStart, w.key);
  }

  private track(start: number, key: unknown) {
    (this.open.get(start) ?? this.open.set(start, new Map()).get(start)!).set(
      JSON.stringify(key),
      key,
    );
  }

  process(r: StreamRecord) {
    if (r.key === null || r.key === undefined) return;
    const start = r.timestamp - (((r.timestamp % this.o.sizeMs) + this.o.sizeMs) % this.o.sizeMs);
    const now = Math.max(this.ctx.streamTime(), r.timestamp);
    if (start + this.o.sizeMs + this.o.graceMs <= now) {
      this.late.inc();
      this.ctx.deadLetter(r, 'late');
    } else {
      this.store.put(
        r.key,
        this.fns.adder(r.key, r.value, this.store.fetch(r.key, start) ?? this.fns.init()),
        start,
      );
      this.track(start, r.key);
    }
    this.emit(now);
  }

  private emit(now: number) {
    const due = [...this.open.keys()]
      .filter((s) => s + this.o.sizeMs + this.o.graceMs <= now)
      .sort((a, b) => a - b);
    for (const start of due) {
      for (const [, key] of [...this.open.get(start)!].sort(([a], [b]) =>
        a < b ? -1 : a > b ? 1 : 0,
      )) {
        const value = this.store.fetch(key, start);
        if (value !== undefined)
          this.ctx.forward({
            key,
            value: { window_start: start, window_end: start + this.o.sizeMs, value },
            timestamp: start + this.o.sizeMs - 1,
          });
        this.store.put(key, undefined, start);
      }
      this.open.delete(start);
    }
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

export const windowed: ProcessorDefinition[] = [
  {
    type: 'windowed-count',
    description:
      'Counts records per key and tumbling window; emits final counts when windows close',
    options: windowOptions,
    stores: windowStore,
    create: (o: WindowOptions) =>
      new WindowedAggregateProcessor(o, { init: () => 0, adder: (_k, _v, a) => (a as number) + 1 }),
  },
  {
    type: 'windowed-aggregate',
    description:
      'Folds records per key and tumbling window with init/adder; emits final aggregates when windows close',
    options: windowOptions,
    create: (o: WindowOptions, fns) => {
      if (!fns || typeof fns.adder !== 'function')
        throw new Error(
          'windowed-aggregate needs init and adder functions: build it with the TypeScript builder',
        );
      return new WindowedAggregateProcessor(o, fns);
    },
  },
];
