import { describe, expect, it } from 'vitest';
import { dedupeKey, tradeUuid, type Trade } from './trade.js';
import { brokenRule } from './validate.js';
import { addTrade, toWindow, vwapAggregateSerde, type VwapAggregate } from './vwap.js';
import { serdeByName } from '../../state/serdes.js';
import '../builtins/market.js';

const trade = (over: Partial<Trade> = {}): Trade => ({
  uuid: 'u',
  trade_conditions: '1,12',
  price: 100,
  symbol: 'AAPL',
  trade_timestamp: 1_700_000_000_000,
  ingest_timestamp: 1_700_000_000_050,
  volume: 2,
  type: 'trade',
  ...over,
});

describe('validation rules', () => {
  it.each([
    [{ symbol: '' }, 'empty_symbol'],
    [{ symbol: '  ' }, 'empty_symbol'],
    [{ price: 0 }, 'price_not_positive'],
    [{ price: -1 }, 'price_not_positive'],
    [{ price: Number.NaN }, 'price_not_finite'],
    [{ price: Number.POSITIVE_INFINITY }, 'price_not_finite'],
    [{ volume: -0.5 }, 'volume_negative'],
    [{ volume: Number.NaN }, 'volume_not_finite'],
    [{ trade_timestamp: 0 }, 'timestamp_not_positive_integer'],
    [{ trade_timestamp: 1.5 }, 'timestamp_not_positive_integer'],
    [{ trade_timestamp: -5 }, 'timestamp_not_positive_integer'],
  ])('%j breaks %s', (over, rule) => {
    expect(brokenRule(trade(over), {})).toBe(rule);
  });

  it('accepts a good trade, zero volume included, and checks clock skew only when asked', () => {
    expect(brokenRule(trade(), {})).toBeUndefined();
    expect(brokenRule(trade({ volume: 0 }), {})).toBeUndefined();
    const skewed = trade({ ingest_timestamp: 1_700_000_060_001 });
    expect(brokenRule(skewed, {})).toBeUndefined();
    expect(brokenRule(skewed, { maxClockSkewMs: 60_000 })).toBe('clock_skew');
    expect(
      brokenRule(trade({ ingest_timestamp: 1_700_000_060_000 }), { maxClockSkewMs: 60_000 }),
    ).toBeUndefined();
  });

  it('checks the future bound only when asked: ahead of the ingest time by more than maxFutureMs', () => {
    const ahead = trade({ trade_timestamp: 1_700_000_060_051 }); // 60,001 ms after its ingest
    expect(brokenRule(ahead, {})).toBeUndefined();
    expect(brokenRule(ahead, { maxFutureMs: 60_000 })).toBe('timestamp_in_future');
    const atBound = trade({ trade_timestamp: 1_700_000_060_050 });
    expect(brokenRule(atBound, { maxFutureMs: 60_000 })).toBeUndefined();
    // Behind its ingest time (a replay, a backfill) is never "in the future".
    const old = trade({ trade_timestamp: 1_600_000_000_000 });
    expect(brokenRule(old, { maxFutureMs: 60_000 })).toBeUndefined();
  });
});

describe('dedupe keys', () => {
  it('symbol+timestamp collapses distinct same-millisecond trades; content keeps them apart', () => {
    const a = trade({ price: 100 });
    const b = trade({ price: 100.01 });
    expect(dedupeKey(a, 'symbol+timestamp')).toBe(dedupeKey(b, 'symbol+timestamp'));
    expect(dedupeKey(a, 'content')).not.toBe(dedupeKey(b, 'content'));
    expect(dedupeKey(a, 'content')).toBe(dedupeKey(trade({ uuid: 'other' }), 'content'));
  });

  it('trade ids are stable for the same source position and distinct otherwise', () => {
    expect(tradeUuid('t', 1, 42, 0)).toBe(tradeUuid('t', 1, 42, 0));
    expect(tradeUuid('t', 1, 42, 0)).not.toBe(tradeUuid('t', 1, 42, 1));
    expect(tradeUuid('t', 1, 42, 0)).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
  });
});

describe('vwap aggregate', () => {
  it('computes vwap, volume, count and OHLC; ties on time keep the first as open and the last as close', () => {
    let agg = addTrade(undefined, trade({ price: 10, volume: 1, trade_timestamp: 1000 }));
    agg = addTrade(agg, trade({ price: 12, volume: 3, trade_timestamp: 500 }));
    agg = addTrade(agg, trade({ price: 11, volume: 2, trade_timestamp: 1000 }));
    agg = addTrade(agg, trade({ price: 9, volume: 0, trade_timestamp: 500 }));
    const w = toWindow('AAPL', 0, 60_000, agg);
    expect(w.vwap).toBeCloseTo((10 * 1 + 12 * 3 + 11 * 2) / 6, 12);
    expect(w).toMatchObject({
      volume: 6,
      trade_count: 4,
      open: 12,
      close: 11,
      high: 12,
      low: 9,
      window_start: 0,
      window_end: 60_000,
    });
  });

  it('gives a null vwap when the volume sum is zero', () => {
    const agg = addTrade(
      addTrade(undefined, trade({ volume: 0 })),
      trade({ volume: 0, price: 101 }),
    );
    expect(toWindow('AAPL', 0, 60_000, agg).vwap).toBeNull();
  });

  it('stores the aggregate in 73 bytes and reads it back exactly; reads the JSON of earlier versions', () => {
    const agg: VwapAggregate = {
      sumPriceVolume: 0.1 + 0.2,
      volume: 1e-9,
      count: 3,
      open: 187.123456789,
      openTs: 1_700_000_000_123,
      close: -0,
      closeTs: Number.MAX_SAFE_INTEGER,
      high: 1e308,
      low: 5e-324,
    };
    const bytes = vwapAggregateSerde.serialize(agg);
    expect(bytes.length).toBe(73);
    expect(vwapAggregateSerde.deserialize(bytes)).toEqual(agg);
    expect(vwapAggregateSerde.deserialize(Buffer.from(JSON.stringify(agg)))).toEqual(
      JSON.parse(JSON.stringify(agg)),
    );
    // The vwap processor type's store names it; registering it twice is harmless.
    expect(serdeByName('vwap-aggregate')).toBe(vwapAggregateSerde);
  });
});
