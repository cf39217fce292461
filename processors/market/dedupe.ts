/**
 * `dedupe-trades`: the first occurrence of a key wins within a retention; later ones are
 * dropped and counted. State is a window store keyed by the dedupe key at the trade's
 * timestamp, so entries expire with the store's retention.
 */
import type { WindowStore } from '../../state/api.js';
import type { Processor, ProcessorContext, ProcessorCounter, StreamRecord } from '../api.js';
import { dedupeKey, type DedupeKeyKind, type Trade } from './trade.js';

export interface DedupeOptions {
  key: DedupeKeyKind;
  /** Name of the declared window store. */
  store: string;
}

export class DedupeTrades implements Processor<string, Trade, string, Trade> {
  private ctx!: ProcessorContext<string, Trade>;
  private seen!: WindowStore<string, number>;
  private dropped!: ProcessorCounter;

  constructor(private readonly opts: DedupeOptions) {}

  init(ctx: ProcessorContext<string, Trade, Record<string, unknown>>): void {
    this.ctx = ctx;
    this.seen = ctx.stores[this.opts.store] as WindowStore<string, number>;
    this.dropped = ctx.metrics.counter(
      `duplicates_dropped`,
      `Trades dropped as duplicates (key ${this.opts.key})`,
    );
  }

  process(record: StreamRecord<string, Trade>): void {
    const t = record.value;
    const key = dedupeKey(t, this.opts.key);
    if (this.seen.fetch(key, t.trade_timestamp) !== undefined) {
      this.dropped.inc();
      return;
    }
    this.seen.put(key, 1, t.trade_timestamp);
    this.ctx.forward(record);
  }
}
