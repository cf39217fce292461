/**
 * Stream-stream windowed joins (Kafka Streams' KStream#join/leftJoin/outerJoin with
 * JoinWindows). A join is two nodes of this type, one under each stream, sharing both
 * sides' window stores (changelogged), and a merge after them. A left record at `tl` and a
 * right record at `tr` join when `tl - beforeMs <= tr <= tl + afterMs`; each pair is
 * forwarded once, as `joiner(leftValue, rightValue, key)`, timestamped with the later one.
 *
 * Left and outer joins forward a record that joined nothing as `joiner(value, null)` (or
 * `joiner(null, value)`) only when no record of the other side can join it any more: once
 * the clock is past its time + beforeMs + afterMs + grace — never the early, and then
 * contradicted, nulls of Kafka Streams before 3.1. A record is late when its own window
 * has closed (the clock past its time + the window on the other side + grace): it goes to
 * the `late` output or the dead-letter topic.
 */
import { z } from 'zod';
import type { WindowStore } from '../../state/api.js';
import type { Processor, ProcessorContext, StreamRecord } from '../api.js';
import type { ProcessorDefinition } from '../registry.js';
import { inlineFn } from './inline.js';
import { joinBuffer, type Held, type JoinBuffer } from './join-buffer.js';
import { TimeQueue } from './time-queue.js';
import { sendLate, windowCounters } from './windowed.js';

export const streamJoinOptions = z
  .object({
    /** Which stream this node is under. */
    side: z.enum(['left', 'right']),
    kind: z.enum(['inner', 'left', 'outer']).default('inner'),
    beforeMs: z.number().int().nonnegative(),
    afterMs: z.number().int().nonnegative(),
    graceMs: z.number().int().nonnegative().default(0),
    /** The window store of this node's stream, and the other stream's. */
    thisStore: z.string().min(1),
    otherStore: z.string().min(1),
  })
  .strict();
export type StreamJoinOptions = z.infer<typeof streamJoinOptions>;

/** `joiner(leftValue, rightValue, key)`; without one (a YAML topology), both values side by side. */
type Joiner = (left: unknown, right: unknown, key: unknown) => unknown;
const pairJoiner: Joiner = (left, right) => ({ left, right });

const isAbsent = (x: unknown) => x === null || x === undefined;

export class StreamJoinSide implements Processor {
  private ctx!: ProcessorContext;
  private mine!: JoinBuffer;
  private other!: JoinBuffer;
  private counters!: ReturnType<typeof windowCounters>;
  /** This side's records by the time no record of the other side can join them any more. */
  private readonly expiring = new TimeQueue<{ key: unknown; time: number }>();
  /** The other side's window relative to a record of this side. */
  private readonly lookBefore: number;
  private readonly lookAfter: number;
  /** Left and outer joins forward this side's records that joined nothing. */
  private readonly tracks: boolean;
  private readonly otherTracks: boolean;

  constructor(
    private readonly o: StreamJoinOptions,
    private readonly joiner: Joiner,
  ) {
    const left = o.side === 'left';
    this.lookBefore = left ? o.beforeMs : o.afterMs;
    this.lookAfter = left ? o.afterMs : o.beforeMs;
    this.tracks = o.kind === 'outer' || (o.kind === 'left' && left);
    this.otherTracks = o.kind === 'outer' || (o.kind === 'left' && !left);
  }

  /** The clock time after which no record of the other side can join a record at `t`. */
  private final(t: number): number {
    return t + this.o.beforeMs + this.o.afterMs + this.o.graceMs;
  }

  async init(ctx: ProcessorContext): Promise<void> {
    this.ctx = ctx;
    this.counters = windowCounters(ctx);
    const store = (name: string) => ctx.stores[name] as WindowStore<unknown, Held[]>;
    this.mine = await joinBuffer(store(this.o.thisStore));
    this.other = await joinBuffer(store(this.o.otherStore));
    for (const slot of this.mine.takeLoaded()) this.expiring.push(this.final(slot.time), slot);
    ctx.schedule(1, 'stream-time', (now) => this.expire(now));
  }

  process(r: StreamRecord): void {
    // As in Kafka Streams: a record without key or value joins nothing.
    if (isAbsent(r.key) || isAbsent(r.value)) return;
    const t = r.timestamp;
    if (t + this.lookAfter + this.o.graceMs < this.ctx.streamTime())
      return sendLate(this.ctx, this.counters.late, r);
    let joined = false;
    for (const time of this.other.timesIn(r.key, t - this.lookBefore, t + this.lookAfter))
      if (this.joinWith(r, time)) joined = true;
    const entry: Held = this.tracks && joined ? { v: r.value, m: 1 } : { v: r.value };
    this.mine.store.put(r.key, [...this.mine.entries(r.key, t), entry], t);
    if (this.mine.add(r.key, t)) this.expiring.push(this.final(t), { key: r.key, time: t });
  }

  /** Joins `r` with the other side's records of its key at `time`; true if there were any. */
  private joinWith(r: StreamRecord, time: number): boolean {
    const entries = this.other.entries(r.key, time);
    if (!entries.length) return false;
    const ts = Math.max(r.timestamp, time);
    for (const e of entries) this.forward(r.key, r.value, e.v, ts);
    if (this.otherTracks && entries.some((e) => !e.m))
      this.other.store.put(
        r.key,
        entries.map((e) => ({ v: e.v, m: 1 as const })),
        time,
      );
    return true;
  }

  private forward(key: unknown, mine: unknown, theirs: unknown, timestamp: number): void {
    const value =
      this.o.side === 'left' ? this.joiner(mine, theirs, key) : this.joiner(theirs, mine, key);
    this.ctx.forward({ key, value, timestamp });
  }

  /** Forwards this side's unjoined records no record can join any more (left/outer), and forgets them. */
  private expire(now: number): void {
    for (const { key, time } of this.expiring.takeUpTo(now - 1)) {
      if (this.tracks) {
        for (const e of this.mine.entries(key, time)) if (!e.m) this.forward(key, e.v, null, time);
        // Forwarded: gone from the store too, so a restart does not forward them again.
        this.mine.store.put(key, undefined, time);
      }
      this.mine.forget(key, time);
    }
  }
}

const stores = (o: StreamJoinOptions) => {
  // A record is needed until no record of the other side can join it.
  const retentionMs = o.beforeMs + o.afterMs + o.graceMs + 1;
  const common = { kind: 'window' as const, keySerde: 'string', valueSerde: 'json' };
  return [
    { ...common, name: o.thisStore, logged: true, cache: true, retentionMs },
    { ...common, name: o.otherStore, logged: true, cache: true, retentionMs },
  ];
};

export const streamJoins: ProcessorDefinition<StreamJoinOptions>[] = [
  {
    type: 'stream-stream-join',
    description:
      'One side of a windowed stream-stream join (inner, left, outer); the two sides share both window stores (output late)',
    options: streamJoinOptions,
    stores,
    outputs: ['late'],
    counters: ['late_records'],
    create: (o, inline) =>
      new StreamJoinSide(
        o,
        inline === undefined ? pairJoiner : inlineFn<Joiner>('stream-stream-join', inline),
      ),
  },
];
