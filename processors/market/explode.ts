/**
 * `explode-trades`: one Finnhub trade message (one symbol, many entries) becomes one
 * `Trade` per entry, keyed by symbol, timestamped by the trade's own time.
 *
 * A record whose key is not its message's symbol goes to the dead-letter topic
 * (`key_not_symbol`): the ingest keys each message by its symbol, and the partitioning by
 * that key is what keeps a symbol's dedupe and window state in one task. A record keyed
 * otherwise (written by something else, or a key that is not text) would put its trades
 * beside another partition's state: a second row for the same window, duplicates not
 * seen as such.
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
    if (msg.data.some((e) => e?.s !== record.key)) {
      this.ctx.deadLetter(record, 'key_not_symbol');
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
