/**
 * `explode-trades`: one Finnhub trade message (one symbol, many entries) becomes one
 * `Trade` per entry, keyed by symbol, timestamped by the trade's own time.
 */
import type { Processor, ProcessorContext, StreamRecord } from '../api.js';
import { tradeUuid, type RawTradeMessage, type Trade } from './trade.js';

export class ExplodeTrades implements Processor<unknown, RawTradeMessage, string, Trade> {
  private ctx!: ProcessorContext<string, Trade>;

  init(ctx: ProcessorContext<string, Trade>): void {
    this.ctx = ctx;
  }

  process(record: StreamRecord<unknown, RawTradeMessage>): void {
    const msg = record.value;
    if (!msg || !Array.isArray(msg.data)) {
      this.ctx.deadLetter(record, 'not_a_trade_message');
      return;
    }
    const meta = this.ctx.recordMetadata();
    msg.data.forEach((e, i) => {
      const trade: Trade = {
        uuid: tradeUuid(meta?.topic ?? '', meta?.partition ?? -1, meta?.offset ?? -1, i),
        trade_conditions: Array.isArray(e.c) && e.c.length ? e.c.join(',') : null,
        price: e.p,
        symbol: e.s,
        trade_timestamp: e.t,
        ingest_timestamp: msg.ingest_timestamp,
        volume: e.v,
        type: msg.type,
      };
      const ts = Number.isSafeInteger(e.t) && e.t > 0 ? e.t : record.timestamp;
      this.ctx.forward({ key: e.s, value: trade, timestamp: ts, headers: record.headers });
    });
  }
}
