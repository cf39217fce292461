/**
 * Session windows (Kafka Streams' SessionWindows): a key's records closer than `gapMs`
 * to each other form one session `[first, last]`; a record that falls within the gap of
 * two sessions merges them (`merger` combines their aggregates). A session closes once
 * the clock is past its end + gap + grace: its final result is emitted (or, with `emit:
 * 'every-update'`, each change was, and a merged-away session was sent as a `null`
 * value), and the store marks it closed. A record is late when its session would be
 * closed already, or when it would join a closed session (whose result went out): it goes
 * to the `late` output or the dead-letter topic.
 */
import { z } from 'zod';
import type { SessionStore, SessionWindow } from '../../state/api.js';
import type { Processor, ProcessorContext, StreamRecord } from '../api.js';
import type { ProcessorDefinition } from '../registry.js';
import { EventClock } from './event-clock.js';
import { inlineField, inlineFold, type Fold } from './inline.js';
import { SessionIndex, type Session } from './session-index.js';
import { TimeQueue } from './time-queue.js';
import { emitOption, idleCloseOption } from './window-options.js';
import { sendLate, windowCounters } from './windowed.js';

export const sessionOptions = z
  .object({
    store: z.string().min(1),
    /** Inactivity gap: records of a key closer than this are one session (ms). */
    gapMs: z.number().int().positive(),
    graceMs: z.number().int().nonnegative().default(0),
    emit: emitOption,
    idleCloseMs: idleCloseOption,
  })
  .strict();
export type SessionOptions = z.infer<typeof sessionOptions>;

/** Aggregation of sessions: `init`/`adder` as usual, and `merger` for two sessions one record joins. */
export interface SessionFold extends Fold {
  merger: (key: unknown, a: unknown, b: unknown) => unknown;
}

export class SessionAggregateProcessor implements Processor {
  private ctx!: ProcessorContext;
  private store!: SessionStore<unknown, unknown>;
  private counters!: ReturnType<typeof windowCounters>;
  private clock!: EventClock;
  private readonly index = new SessionIndex();
  /** Open sessions by the time they close; closed ones by the time the index forgets them. */
  private readonly closing = new TimeQueue<Session>();
  private readonly forgetting = new TimeQueue<Session>();

  constructor(
    private readonly o: SessionOptions,
    private readonly fold: SessionFold,
  ) {}

  /** Closes once the clock is past this (end + gap + grace); a record up to end + gap joins it. */
  private closesAfter(s: SessionWindow): number {
    return s.end + this.o.gapMs + this.o.graceMs;
  }

  async init(ctx: ProcessorContext): Promise<void> {
    this.ctx = ctx;
    this.store = ctx.stores[this.o.store] as SessionStore<unknown, unknown>;
    this.counters = windowCounters(ctx);
    this.clock = new EventClock(ctx, this.o.idleCloseMs);
    const all = this.store.fetchAllWithClosed(Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
    for await (const s of all) this.track(this.index.add(s.key, s, s.value === undefined));
    ctx.schedule(1, 'stream-time', () => this.closeUpTo(this.clock.now()));
    this.clock.start((now) => this.closeUpTo(now));
  }

  private track(s: Session): void {
    if (s.closed) this.forgetting.push(this.closesAfter(s) + this.o.gapMs, s);
    else this.closing.push(this.closesAfter(s), s);
  }

  process(r: StreamRecord): void {
    if (r.key === null || r.key === undefined) return; // null keys do not aggregate
    this.clock.touch();
    const t = r.timestamp;
    const touched = this.index.overlapping(r.key, t - this.o.gapMs, t + this.o.gapMs);
    const merged = {
      start: Math.min(t, ...touched.map((s) => s.start)),
      end: Math.max(t, ...touched.map((s) => s.end)),
    };
    if (touched.some((s) => s.closed) || this.closesAfter(merged) < this.clock.now())
      return sendLate(this.ctx, this.counters.late, r);
    let agg = this.fold.init();
    for (const s of touched) {
      agg = this.fold.merger(r.key, agg, this.store.fetchSession(r.key, s));
      if (s.start !== merged.start || s.end !== merged.end) this.remove(r.key, s, t);
    }
    agg = this.fold.adder(r.key, r.value, agg);
    this.store.put(r.key, merged, agg);
    if (!touched.some((s) => s.start === merged.start && s.end === merged.end))
      this.track(this.index.add(r.key, merged, false));
    if (this.o.emit === 'every-update') this.forward(r.key, merged, agg, t);
  }

  /** A session merged into a longer one: gone from store and index (and downstream, every-update). */
  private remove(key: unknown, s: Session, timestamp: number): void {
    this.store.put(key, s, undefined);
    this.index.remove(s);
    if (this.o.emit === 'every-update') this.forward(key, s, null, timestamp);
  }

  private forward(key: unknown, s: SessionWindow, value: unknown, timestamp: number): void {
    this.ctx.forward({
      key,
      value: { window_start: s.start, window_end: s.end, value },
      timestamp,
    });
  }

  /** Emits (unless every update was) and marks closed every session the clock is past. */
  private closeUpTo(now: number): void {
    for (const s of this.closing.takeUpTo(now - 1)) {
      if (!this.index.holds(s) || s.closed) continue; // merged away since it was queued
      const value = this.store.fetchSession(s.key, s);
      if (this.o.emit !== 'every-update' && value !== undefined) {
        this.forward(s.key, s, value, s.end);
        this.counters.emitted.inc();
      }
      this.store.markClosed(s.key, s);
      s.closed = true;
      this.track(s);
    }
    // Closed sessions are kept while a record could still touch them without being late.
    for (const s of this.forgetting.takeUpTo(now - 1)) this.index.remove(s);
  }
}

const sessionStore = (o: SessionOptions) => [
  {
    name: o.store,
    kind: 'session' as const,
    keySerde: 'string',
    valueSerde: 'json',
    logged: true,
    cache: true,
    // Open sessions end within gap + grace of the clock; closed ones are kept one gap more.
    retentionMs: 2 * o.gapMs + o.graceMs + 1,
  },
];

const count: SessionFold = {
  init: () => 0,
  adder: (_k, _v, n) => (n as number) + 1,
  merger: (_k, a, b) => (a as number) + (b as number),
};

export const sessions: ProcessorDefinition<SessionOptions>[] = [
  {
    type: 'session-count',
    description:
      'Counts records per key and session (records closer than gapMs); emits final counts when sessions close, or every update (output late)',
    options: sessionOptions,
    stores: sessionStore,
    outputs: ['late'],
    counters: ['window_emits', 'late_records'],
    create: (o) => new SessionAggregateProcessor(o, count),
  },
  {
    type: 'session-aggregate',
    description:
      'Folds records per key and session with init/adder/merger; emits final aggregates when sessions close, or every update (output late)',
    options: sessionOptions,
    stores: sessionStore,
    outputs: ['late'],
    counters: ['window_emits', 'late_records'],
    create: (o, inline) =>
      new SessionAggregateProcessor(o, {
        ...inlineFold('session-aggregate', inline),
        merger: inlineField<SessionFold['merger']>('session-aggregate', inline, 'merger'),
      }),
  },
];
