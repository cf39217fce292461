/**
 * `suppress`: holds back the updates of an aggregation and forwards fewer of them (Kafka
 * Streams' KTable#suppress). The buffer is a changelogged key-value store, so what it
 * holds survives a restart.
 *
 * - `until: 'window-close'` (input: windowed results `{ window_start, window_end, value }`):
 *   keeps the newest value of each key and window and forwards it once, when the clock
 *   reaches `window_end + closeAfterMs` — the window's final result. A `null` value (a
 *   session merged away) drops what was held for that window. An update for a window
 *   already released is late (output `late`, or the dead-letter topic).
 * - `until: 'time-limit'`: keeps the newest value of each key and forwards it `timeLimitMs`
 *   (stream time) after the key's first held update; with `maxRecords`, a full buffer
 *   forwards its longest-held key early.
 *
 * With `idleCloseMs`, the clock moves on when input stops, as in the windowed aggregations.
 */
import { z } from 'zod';
import type { KeyValueStore } from '../../state/api.js';
import type { Processor, ProcessorContext, StreamRecord } from '../api.js';
import type { ProcessorDefinition } from '../registry.js';
import { EventClock } from './event-clock.js';
import { TimeQueue } from './time-queue.js';
import { idleCloseOption, type WindowedValue } from './window-options.js';
import { sendLate, windowCounters } from './windowed.js';

export const suppressOptions = z
  .object({
    store: z.string().min(1),
    until: z.enum(['window-close', 'time-limit']),
    /** window-close: a window's result goes out when the clock reaches window_end + this (ms). */
    closeAfterMs: z.number().int().nonnegative().optional(),
    /** time-limit: how long (stream time) a key's updates are held (ms). */
    timeLimitMs: z.number().int().nonnegative().optional(),
    /** time-limit: most keys held; past it the longest-held key goes out early. */
    maxRecords: z.number().int().positive().optional(),
    /** time-limit: the input is windowed results, held per key and window (not per key). */
    windowed: z.boolean().optional(),
    idleCloseMs: idleCloseOption,
  })
  .strict()
  .refine((o) => o.until !== 'time-limit' || o.timeLimitMs !== undefined, {
    message: 'until: time-limit needs timeLimitMs',
    path: ['timeLimitMs'],
  })
  .refine((o) => o.until !== 'window-close' || o.maxRecords === undefined, {
    message:
      'until: window-close forwards final results only, so it cannot forward early when full; drop maxRecords',
    path: ['maxRecords'],
  });
export type SuppressOptions = z.infer<typeof suppressOptions>;

/** What the buffer store holds per buffer key: the newest record and when it goes out. */
interface Held {
  key: unknown;
  value: unknown;
  timestamp: number;
  /** Clock time at (or after) which it is forwarded. */
  at: number;
}

type BufferKey = string;

export class SuppressProcessor implements Processor {
  private ctx!: ProcessorContext;
  private store!: KeyValueStore<BufferKey, Held>;
  private counters!: ReturnType<typeof windowCounters>;
  private clock!: EventClock;
  /** What the buffer holds (mirrors the store, for synchronous lookups and the size). */
  private readonly held = new Map<BufferKey, Held>();
  private readonly due = new TimeQueue<BufferKey>();

  constructor(private readonly o: SuppressOptions) {}

  async init(ctx: ProcessorContext): Promise<void> {
    this.ctx = ctx;
    this.store = ctx.stores[this.o.store] as KeyValueStore<BufferKey, Held>;
    this.counters = windowCounters(ctx);
    this.clock = new EventClock(ctx, this.o.idleCloseMs);
    for await (const { key, value } of this.store.all()) this.hold(key, value);
    ctx.schedule(1, 'stream-time', () => this.release(this.clock.now()));
    this.clock.start((now) => this.release(now));
  }

  private hold(id: BufferKey, h: Held): void {
    const known = this.held.get(id);
    this.held.set(id, h);
    if (!known || known.at !== h.at) this.due.push(h.at, id);
  }

  process(r: StreamRecord): void {
    this.clock.touch();
    if (this.o.until === 'window-close') this.windowUpdate(r);
    else this.keyUpdate(r);
  }

  private windowUpdate(r: StreamRecord): void {
    const w = r.value as WindowedValue | null;
    if (!w || typeof w.window_end !== 'number') return; // not a windowed result: nothing to hold
    const id = JSON.stringify([r.key, w.window_start, w.window_end]);
    const at = w.window_end + (this.o.closeAfterMs ?? 0);
    // Released already (the clock is past its close): the upstream aggregation's grace
    // should have kept this update from coming at all.
    if (at <= this.clock.now()) return sendLate(this.ctx, this.counters.late, r);
    if (w.value === null) return this.drop(id);
    this.put(id, { key: r.key, value: w, timestamp: r.timestamp, at });
  }

  private keyUpdate(r: StreamRecord): void {
    const w = this.o.windowed ? (r.value as WindowedValue | null) : null;
    const id = JSON.stringify(w ? [r.key, w.window_start, w.window_end] : [r.key]);
    const known = this.held.get(id);
    const at = known?.at ?? r.timestamp + (this.o.timeLimitMs ?? 0);
    this.put(id, { key: r.key, value: r.value, timestamp: r.timestamp, at });
    if (this.o.maxRecords !== undefined && this.held.size > this.o.maxRecords) this.evictOne();
  }

  private put(id: BufferKey, h: Held): void {
    this.hold(id, h);
    this.store.put(id, h);
  }

  private drop(id: BufferKey): void {
    if (!this.held.delete(id)) return;
    this.store.delete(id);
  }

  /** The buffer is full: the key held longest goes out now. */
  private evictOne(): void {
    let oldest: [BufferKey, Held] | undefined;
    for (const e of this.held) if (!oldest || e[1].at < oldest[1].at) oldest = e;
    if (oldest) this.emit(oldest[0], oldest[1]);
  }

  /** Forwards everything due at `now`, in the order it came due. */
  private release(now: number): void {
    for (const id of this.due.takeUpTo(now)) {
      const h = this.held.get(id);
      if (h && h.at <= now) this.emit(id, h);
    }
  }

  private emit(id: BufferKey, h: Held): void {
    this.drop(id);
    this.ctx.forward({ key: h.key, value: h.value, timestamp: h.timestamp });
    if (this.o.until === 'window-close') this.counters.emitted.inc();
  }
}

export const suppress: ProcessorDefinition<SuppressOptions>[] = [
  {
    type: 'suppress',
    description:
      "Holds an aggregation's updates back: each window's final result when it closes (until window-close), or each key's newest value after timeLimitMs (until time-limit)",
    options: suppressOptions,
    stores: (o) => [
      {
        name: o.store,
        kind: 'keyValue',
        keySerde: 'string',
        valueSerde: 'json',
        logged: true,
        cache: true,
      },
    ],
    outputs: ['late'],
    counters: ['window_emits', 'late_records'],
    create: (o) => new SuppressProcessor(o),
  },
];
