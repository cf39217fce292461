/**
 * The finnhub-vwap topology in the test driver (no broker), checked against an
 * independent computation from the input: validation rules, dedupe by each key choice,
 * window boundaries, grace, late by 1 ms, zero volume, equal timestamps.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { TopologyTestDriver } from '../../runtime/testing/driver.js';
import { jsonSerde } from '../../state/index.js';
import type { RawTradeMessage, Trade, VwapWindow } from '../../processors/market/trade.js';
import { SERDES, TOPICS, topology, type PipelineOptions } from './app.js';

// The Avro serdes need the registry; the logic under test does not, so JSON stands in.
const serdes = { [SERDES.raw]: jsonSerde, [SERDES.trade]: jsonSerde, [SERDES.vwap]: jsonSerde };
let driver: TopologyTestDriver | undefined;
afterEach(async () => {
  await driver?.close();
  driver = undefined;
});

type Entry = RawTradeMessage['data'][number];
const T0 = 1_700_000_040_000; // 40 s into a minute window [1_700_000_040_000 - 40_000, … + 60_000)
const W0 = T0 - (T0 % 60_000);

async function run(messages: Entry[][], opts: Partial<PipelineOptions> = {}) {
  driver = await TopologyTestDriver.create(topology(opts), {
    serdes,
    deadLetterTopic: TOPICS.dlq,
    applicationId: 'finnhub-vwap',
  });
  const input = driver.input(TOPICS.raw, { key: 'string', value: SERDES.raw });
  for (const data of messages)
    await input.pipe(
      data[0]!.s,
      { type: 'trade', data, ingest_timestamp: Math.max(...data.map((d) => d.t)) + 5 },
      { timestamp: Math.max(...data.map((d) => d.t)) + 5 },
    );
  return {
    trades: driver
      .output(TOPICS.clean, { key: 'string', value: SERDES.trade })
      .readAll()
      .map((r) => r.value as Trade),
    windows: driver
      .output(TOPICS.vwap, { key: 'string', value: SERDES.vwap })
      .readAll()
      .map((r) => r.value as VwapWindow),
    dlq: driver.deadLetters(),
  };
}

const e = (s: string, t: number, p: number, v: number, c: string[] | null = ['1']): Entry => ({
  s,
  t,
  p,
  v,
  c,
});

describe('finnhub-vwap pipeline', () => {
  it('validates with named rules, dead-letters originals, and passes good trades with the trades-table columns', async () => {
    const { trades, dlq } = await run([
      [e('AAPL', T0, 100, 1), e('AAPL', T0 + 1, -1, 1), e('AAPL', T0 + 2, 101, -3)],
      [e('', T0 + 3, 100, 1)],
      [e('AAPL', T0 + 4, Number.NaN, 1)],
    ]);
    expect(trades).toHaveLength(1);
    expect(trades[0]).toMatchObject({
      symbol: 'AAPL',
      price: 100,
      volume: 1,
      trade_timestamp: T0,
      trade_conditions: '1',
      type: 'trade',
    });
    expect(trades[0]!.uuid).toMatch(/^[0-9a-f-]{36}$/);
    expect(dlq.map((d) => d.headers['millrace.reason'])).toEqual([
      'price_not_positive',
      'volume_negative',
      'empty_symbol',
      'price_not_finite',
    ]);
    expect(dlq[0]!.headers['millrace.processor']).toBe('validate');
    expect(dlq[0]!.headers['millrace.source.topic']).toBe(TOPICS.raw);
  });

  it('dedupes by symbol+timestamp (dropping same-millisecond distinct trades) or by content (keeping them)', async () => {
    const input = [
      [e('MSFT', T0, 300, 1), e('MSFT', T0, 300, 1), e('MSFT', T0, 300.5, 2)],
      [e('MSFT', T0, 300, 1)],
    ];
    const byTs = await run(input, { dedupeKey: 'symbol+timestamp' });
    expect(byTs.trades.map((t) => t.price)).toEqual([300]);
    expect(driver!.metric('dedupe', 'duplicates_dropped')).toBe(3);
    await driver!.close();
    driver = undefined;
    const byContent = await run(input, { dedupeKey: 'content' });
    expect(byContent.trades.map((t) => t.price)).toEqual([300, 300.5]);
    expect(driver!.metric('dedupe', 'duplicates_dropped')).toBe(2);
  });

  it('computes each window once, at end + grace, equal to an independent computation; late by 1 ms is dead-lettered', async () => {
    const msgs = [
      [e('AAPL', W0 + 0, 10, 1), e('AAPL', W0 + 59_999, 12, 3)], // window boundaries: first and last ms of W0
      [e('AAPL', W0 + 30_000, 11, 2), e('AAPL', W0 + 30_000, 9, 0)], // equal timestamps (content differs), zero volume
      [e('AAPL', W0 + 60_000, 20, 1)], // first ms of the next window
      [e('AAPL', W0 + 69_999, 21, 1)], // stream time 69.999 s: W0 still open (closes at 70 s)
      [e('AAPL', W0 + 59_998, 13, 1)], // in grace: accepted into W0
      [e('AAPL', W0 + 70_000, 22, 1)], // stream time reaches W0 end + grace: W0 emitted
      [e('AAPL', W0 + 59_997, 14, 1)], // late by 1 ms past grace → DLQ 'late'
    ];
    const { windows, dlq } = await run(msgs, { dedupeKey: 'content' });
    const w0 = [
      { p: 10, v: 1, t: 0 },
      { p: 12, v: 3, t: 59_999 },
      { p: 11, v: 2, t: 30_000 },
      { p: 9, v: 0, t: 30_000 },
      { p: 13, v: 1, t: 59_998 },
    ];
    const vol = w0.reduce((n, x) => n + x.v, 0);
    expect(windows).toHaveLength(1);
    const w = windows[0]!;
    expect(w).toMatchObject({
      symbol: 'AAPL',
      window_start: W0,
      window_end: W0 + 60_000,
      volume: vol,
      trade_count: 5,
      open: 10,
      close: 12,
      high: 13,
      low: 9,
    });
    expect(Math.abs(w.vwap! - w0.reduce((n, x) => n + x.p * x.v, 0) / vol) / w.vwap!).toBeLessThan(
      1e-9,
    );
    expect(dlq.map((d) => d.headers['millrace.reason'])).toEqual(['late']);
    expect(driver!.metric('vwap', 'late_records')).toBe(1);
  });

  it.each([
    [
      'by default a trade a year ahead of its ingest time is dead-lettered',
      {},
      3,
      'timestamp_in_future',
    ],
    [
      'without the future bound it moves the clock: the trades after it are late',
      { maxFutureMs: undefined },
      1,
      'late',
    ],
  ] as const)('%s', async (_name, opts, closed, reason) => {
    driver = await TopologyTestDriver.create(topology(opts), {
      serdes,
      deadLetterTopic: TOPICS.dlq,
      applicationId: 'finnhub-vwap',
    });
    const input = driver.input(TOPICS.raw, { key: 'string', value: SERDES.raw });
    const pipe = (t: number, ingest: number) =>
      input.pipe(
        'AAPL',
        { type: 'trade', data: [e('AAPL', t, 100, 1)], ingest_timestamp: ingest },
        { timestamp: ingest },
      );
    await pipe(T0, T0);
    await pipe(T0 + 365 * 86_400_000, T0 + 1); // a bad clock, or a wrong unit
    // Four minutes of trades, one a second: the windows of W0, +1 and +2 minutes close.
    for (let s = 1; s <= 240; s++) await pipe(T0 + s * 1000, T0 + s * 1000);
    const windows = driver.output(TOPICS.vwap, { key: 'string', value: SERDES.vwap }).readAll();
    expect(windows.map((w) => (w.value as VwapWindow).window_start).slice(0, closed)).toEqual(
      [W0, W0 + 60_000, W0 + 120_000].slice(0, closed),
    );
    expect(windows).toHaveLength(closed);
    const reasons = driver.deadLetters().map((d) => d.headers['millrace.reason']);
    if (reason === 'timestamp_in_future') expect(reasons).toEqual(['timestamp_in_future']);
    else expect(reasons.filter((r) => r === 'late')).toHaveLength(240);
  });

  it('keeps the open windows in vwap-store and the last closed window per symbol in vwap-last-store', async () => {
    const { windows } = await run([
      [e('AAPL', W0 + 1, 10, 1)],
      [e('MSFT', W0 + 2, 300, 2)],
      [e('AAPL', W0 + 60_001, 11, 1)],
      [e('AAPL', W0 + 130_000, 12, 1)], // closes W0 and W0 + 60 s (one task: one clock)
      [e('MSFT', W0 + 130_001, 301, 1)],
    ]);
    expect(windows.map((w) => [w.symbol, w.window_start])).toEqual([
      ['AAPL', W0],
      ['MSFT', W0],
      ['AAPL', W0 + 60_000],
    ]);
    const last = driver!.keyValueStore<string, VwapWindow>('vwap-last-store');
    expect(last.get('AAPL')).toEqual(windows[2]);
    expect(last.get('MSFT')).toEqual(windows[1]);
    const open = driver!.windowStore<string, { volume: number; count: number }>('vwap-store');
    expect(open.fetch('AAPL', W0 + 120_000)).toMatchObject({ volume: 1, count: 1 });
    expect(open.fetch('AAPL', W0 + 60_000)).toBeUndefined(); // closed: in vwap-last-store
  });

  it('gives a null vwap for a window whose volume is zero', async () => {
    const { windows } = await run([[e('ZERO', W0 + 1, 5, 0)], [e('ZERO', W0 + 200_000, 5, 1)]]);
    expect(windows[0]).toMatchObject({ symbol: 'ZERO', vwap: null, volume: 0, trade_count: 1 });
  });

  it('dead-letters a message whose key is not its symbol (another symbol, null, bytes that are not text), original bytes kept', async () => {
    driver = await TopologyTestDriver.create(topology(), {
      serdes,
      deadLetterTopic: TOPICS.dlq,
      applicationId: 'finnhub-vwap',
    });
    const message = (s: string) =>
      Buffer.from(
        JSON.stringify({ type: 'trade', data: [e(s, T0, 100, 1)], ingest_timestamp: T0 }),
      );
    const notText = Buffer.from([0xff, 0xfe, 0x41, 0x80]);
    await driver.pipeRaw(TOPICS.raw, Buffer.from('MSFT'), message('AAPL'), { timestamp: T0 });
    await driver.pipeRaw(TOPICS.raw, null, message('AAPL'), { timestamp: T0 });
    await driver.pipeRaw(TOPICS.raw, notText, message('AAPL'), { timestamp: T0 });
    await driver.pipeRaw(TOPICS.raw, Buffer.from('AAPL'), message('AAPL'), { timestamp: T0 });
    const clean = driver.output(TOPICS.clean, { key: 'string', value: SERDES.trade }).readAll();
    expect(clean.map((r) => r.key)).toEqual(['AAPL']);
    const dlq = driver.deadLetters();
    expect(dlq.map((d) => d.headers['millrace.reason'])).toEqual([
      'key_not_symbol',
      'key_not_symbol',
      'key_not_symbol',
    ]);
    expect(dlq.map((d) => d.key)).toEqual([Buffer.from('MSFT'), null, notText]);
    expect(dlq.every((d) => d.value!.equals(message('AAPL')))).toBe(true);
  });
});
