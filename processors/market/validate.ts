/**
 * `validate-trade`: a schema-valid trade that breaks a rule goes to the dead-letter
 * topic with the rule's name as the reason; the others pass unchanged.
 */
import type { Processor, ProcessorContext, ProcessorCounter, StreamRecord } from '../api.js';
import type { Trade } from './trade.js';

export interface ValidateOptions {
  /** Reject trades whose time is further than this from their ingest time (ms). Off when undefined. */
  maxClockSkewMs?: number;
  /**
   * Reject trades whose time is more than this ahead of their ingest time (ms). Off when
   * undefined. One trade far in the future moves the windows' clock there: every trade after
   * it would be late (see apps/finnhub-vwap, whose default is a day).
   */
  maxFutureMs?: number;
}

/** Every rule's name: the dead-letter reasons `validate-trade` can give. */
export const VALIDATION_RULES = [
  'empty_symbol',
  'price_not_finite',
  'price_not_positive',
  'volume_not_finite',
  'volume_negative',
  'timestamp_not_positive_integer',
  'timestamp_in_future',
  'clock_skew',
] as const;

export type ValidationRule = (typeof VALIDATION_RULES)[number];

/** The rules, in the order they are checked; the first broken one is the reason. */
export function brokenRule(t: Trade, opts: ValidateOptions): ValidationRule | undefined {
  if (typeof t.symbol !== 'string' || t.symbol.trim() === '') return 'empty_symbol';
  if (typeof t.price !== 'number' || !Number.isFinite(t.price)) return 'price_not_finite';
  if (t.price <= 0) return 'price_not_positive';
  if (typeof t.volume !== 'number' || !Number.isFinite(t.volume)) return 'volume_not_finite';
  if (t.volume < 0) return 'volume_negative';
  if (!Number.isSafeInteger(t.trade_timestamp) || t.trade_timestamp <= 0)
    return 'timestamp_not_positive_integer';
  if (opts.maxFutureMs !== undefined && t.trade_timestamp - t.ingest_timestamp > opts.maxFutureMs)
    return 'timestamp_in_future';
  if (
    opts.maxClockSkewMs !== undefined &&
    Math.abs(t.trade_timestamp - t.ingest_timestamp) > opts.maxClockSkewMs
  ) {
    return 'clock_skew';
  }
  return undefined;
}

export class ValidateTrade implements Processor<string, Trade, string, Trade> {
  private ctx!: ProcessorContext<string, Trade>;
  private rejected!: ProcessorCounter;

  constructor(private readonly opts: ValidateOptions = {}) {}

  init(ctx: ProcessorContext<string, Trade>): void {
    this.ctx = ctx;
    this.rejected = ctx.metrics.counter('invalid_trades', 'Trades rejected by a validation rule');
  }

  process(record: StreamRecord<string, Trade>): void {
    const rule = brokenRule(record.value, this.opts);
    if (rule) {
      this.rejected.inc();
      this.ctx.deadLetter(record, rule);
      return;
    }
    this.ctx.forward(record);
  }
}
