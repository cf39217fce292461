/**
 * `vwap`: tumbling event-time windows per symbol (aligned to the epoch), emitting each
 * window's final VWAP, volume, trade count and OHLC once, when stream time passes
 * `window_end + grace`. A trade for a window already closed is late: counted and sent to
 * the dead-letter topic with reason `late`.
 *
 * The window store holds the running aggregates (and is changelogged); an in-memory
 * index of open windows, rebuilt from the store at init, finds the windows to close
 * without a range scan per record. The clock (the newest trade time seen) is kept in the
 * same store under the empty symbol, which `validate` never lets through: a task that
 * moves or restarts resumes with the clock it had, so a trade that was late before a
 * crash is late after it too, and a window emitted once is never opened again.
 */
import type { Serde, WindowStore } from '../../state/api.js';
import type {
  Cancellable,
  Processor,
  ProcessorContext,
  ProcessorCounter,
  StreamRecord,
} from '../api.js';
import { EventClock } from '../builtins/event-clock.js';
import type { Trade, VwapWindow } from './trade.js';

export interface VwapOptions {
  /** Window size in ms (default 60 000). */
  sizeMs: number;
  /** How long after its end a window still accepts trades, in ms (default 10 000). */
  graceMs: number;
  /** Name of the declared window store. */
  store: string;
  /** Close windows when no trade arrived for this long on the wall clock (ms); off when undefined. */
  idleCloseMs?: number;
}

/** The running aggregate of one window. `open`/`close` keep the earliest/latest trade by time. */
export interface VwapAggregate {
  sumPriceVolume: number;
  volume: number;
  count: number;
  open: number;
  openTs: number;
  close: number;
  closeTs: number;
  high: number;
  low: number;
}

const AGGREGATE_FIELDS = [
  'sumPriceVolume',
  'volume',
  'count',
  'open',
  'openTs',
  'close',
  'closeTs',
  'high',
  'low',
] as const;
/** First byte of the binary form; stores written by earlier versions hold JSON (`{`). */
const AGGREGATE_V1 = 1;

/**
 * The window store's value format: a version byte, then the nine fields as float64
 * big-endian (73 bytes). It is read and written for every trade, where JSON text cost
 * several times as much. Values written as JSON by earlier versions are still read.
 */
export const vwapAggregateSerde: Serde<VwapAggregate> = {
  serialize: (a) => {
    const b = Buffer.allocUnsafe(1 + 8 * AGGREGATE_FIELDS.length);
    b[0] = AGGREGATE_V1;
    for (let i = 0; i < AGGREGATE_FIELDS.length; i++)
      b.writeDoubleBE(a[AGGREGATE_FIELDS[i]!], 1 + 8 * i);
    return b;
  },
  deserialize: (b) => {
    if (b[0] !== AGGREGATE_V1) return JSON.parse(b.toString('utf8')) as VwapAggregate;
    return {
      sumPriceVolume: b.readDoubleBE(1),
      volume: b.readDoubleBE(9),
      count: b.readDoubleBE(17),
      open: b.readDoubleBE(25),
      openTs: b.readDoubleBE(33),
      close: b.readDoubleBE(41),
      closeTs: b.readDoubleBE(49),
      high: b.readDoubleBE(57),
      low: b.readDoubleBE(65),
    };
  },
};

/** The store key of the clock marker: no trade has an empty symbol. */
const CLOCK_KEY = '';

function clockMarker(clock: number): VwapAggregate {
  return {
    sumPriceVolume: 0,
    volume: 0,
    count: 0,
    open: 0,
    openTs: clock,
    close: 0,
    closeTs: clock,
    high: 0,
    low: 0,
  };
}

export function addTrade(agg: VwapAggregate | undefined, t: Trade): VwapAggregate {
  if (!agg) {
    return {
      sumPriceVolume: t.price * t.volume,
      volume: t.volume,
      count: 1,
      open: t.price,
      openTs: t.trade_timestamp,
      close: t.price,
      closeTs: t.trade_timestamp,
      high: t.price,
      low: t.price,
    };
  }
  // Ties on time: the earlier-processed (lower offset) trade stays the open; the later one becomes the close.
  const earlier = t.trade_timestamp < agg.openTs;
  const later = t.trade_timestamp >= agg.closeTs;
  return {
    sumPriceVolume: agg.sumPriceVolume + t.price * t.volume,
    volume: agg.volume + t.volume,
    count: agg.count + 1,
    open: earlier ? t.price : agg.open,
    openTs: earlier ? t.trade_timestamp : agg.openTs,
    close: later ? t.price : agg.close,
    closeTs: later ? t.trade_timestamp : agg.closeTs,
    high: Math.max(agg.high, t.price),
    low: Math.min(agg.low, t.price),
  };
}

export function toWindow(
  symbol: string,
  start: number,
  sizeMs: number,
  a: VwapAggregate,
): VwapWindow {
  return {
    symbol,
    window_start: start,
    window_end: start + sizeMs,
    vwap: a.volume === 0 ? null : a.sumPriceVolume / a.volume,
    volume: a.volume,
    trade_count: a.count,
    open: a.open,
    high: a.high,
    low: a.low,
    close: a.close,
  };
}

export class VwapProcessor implements Processor<string, Trade, string, VwapWindow> {
  private ctx!: ProcessorContext<string, VwapWindow>;
  private windows!: WindowStore<string, VwapAggregate>;
  private late!: ProcessorCounter;
  private emits!: ProcessorCounter;
  /** Open windows: start → symbols. */
  private readonly open = new Map<number, Set<string>>();
  /** When the earliest open window closes (its end + grace); Infinity when none is open. */
  private nextClose = Infinity;
  /** Stream time, possibly advanced by wall-clock idleness. */
  private clock = -1;
  /** Window start under which the clock marker is stored (-1: none yet). */
  private clockStart = -1;
  /** Close on idle (the windowed aggregations' rule), over this processor's own clock. */
  private idle!: EventClock;
  private idleTimer?: Cancellable;

  constructor(private readonly opts: VwapOptions) {}

  async init(ctx: ProcessorContext<string, VwapWindow, Record<string, unknown>>): Promise<void> {
    this.ctx = ctx;
    this.windows = ctx.stores[this.opts.store] as WindowStore<string, VwapAggregate>;
    this.late = ctx.metrics.counter('late_records', 'Trades later than window end + grace');
    this.emits = ctx.metrics.counter('window_emits', 'Final window results emitted');
    for await (const w of this.windows.fetchAll(0, Number.MAX_SAFE_INTEGER)) {
      if (w.key === CLOCK_KEY) {
        this.clock = Math.max(this.clock, w.value.closeTs);
        this.clockStart = w.windowStart;
      } else this.track(w.windowStart, w.key);
    }
    const clock = {
      streamTime: () => this.clock,
      currentSystemTime: () => ctx.currentSystemTime(),
      schedule: ctx.schedule.bind(ctx),
    };
    this.idle = new EventClock(clock, this.opts.idleCloseMs);
    this.idleTimer = this.idle.start((now) => {
      // A quiet partition: the clock moves with the wall clock, so its windows close.
      this.advanceClock(now);
      this.emitClosed();
    });
  }

  private track(start: number, symbol: string): void {
    let symbols = this.open.get(start);
    if (!symbols) {
      this.open.set(start, (symbols = new Set()));
      this.nextClose = Math.min(this.nextClose, this.closes(start));
    }
    symbols.add(symbol);
  }

  private windowStart(ts: number): number {
    return ts - (((ts % this.opts.sizeMs) + this.opts.sizeMs) % this.opts.sizeMs);
  }

  private closes(start: number): number {
    return start + this.opts.sizeMs + this.opts.graceMs;
  }

  process(record: StreamRecord<string, Trade>): void {
    const t = record.value;
    this.idle.touch();
    // Event time: the newest trade time this task has seen (not the Kafka record time of
    // the raw message, which is the ingest time and would make a replay entirely late).
    if (t.trade_timestamp > this.clock) this.advanceClock(t.trade_timestamp);
    const start = this.windowStart(t.trade_timestamp);
    if (this.closes(start) <= this.clock) {
      this.late.inc();
      this.ctx.deadLetter(record, 'late');
    } else {
      this.windows.put(t.symbol, addTrade(this.windows.fetch(t.symbol, start), t), start);
      this.track(start, t.symbol);
    }
    this.emitClosed();
  }

  /** Moves the clock and records it in the store (the write cache keeps one marker per commit). */
  private advanceClock(clock: number): void {
    this.clock = clock;
    const start = this.windowStart(clock);
    if (this.clockStart >= 0 && start !== this.clockStart)
      this.windows.put(CLOCK_KEY, undefined, this.clockStart);
    this.clockStart = start;
    this.windows.put(CLOCK_KEY, clockMarker(clock), start);
  }

  /** Emits and forgets every window whose end + grace is at or before the clock. */
  private emitClosed(): void {
    if (this.clock < this.nextClose) return;
    const due = [...this.open.keys()]
      .filter((s) => this.closes(s) <= this.clock)
      .sort((a, b) => a - b);
    for (const start of due) {
      for (const symbol of [...this.open.get(start)!].sort()) {
        const agg = this.windows.fetch(symbol, start);
        if (agg) {
          const w = toWindow(symbol, start, this.opts.sizeMs, agg);
          this.ctx.forward({ key: symbol, value: w, timestamp: w.window_end - 1 });
          this.emits.inc();
        }
        this.windows.put(symbol, undefined, start);
      }
      this.open.delete(start);
    }
    this.nextClose = Infinity;
    for (const start of this.open.keys())
      this.nextClose = Math.min(this.nextClose, this.closes(start));
  }

  close(): void {
    this.idleTimer?.cancel();
  }
}
