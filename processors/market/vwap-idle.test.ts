/**
 * The vwap processor's close on idle (the rule every windowed aggregation shares, see
 * processors/builtins/event-clock.ts), in the test driver.
 */
import { describe, expect, it } from 'vitest';
import '../index.js';
import { DLQ_HEADERS } from '../../runtime/task/dead-letter.js';
import { TopologyBuilder } from '../../topology/index.js';
import type { Trade, VwapWindow } from './trade.js';
import { useDriver } from '../../test/support/driver.js';

const start = useDriver();

const J = { key: 'string', value: 'json' } as const;
const trade = (symbol: string, ts: number, price: number, volume: number): Trade => ({
  uuid: `${symbol}-${ts}`,
  trade_conditions: null,
  price,
  symbol,
  trade_timestamp: ts,
  ingest_timestamp: ts,
  volume,
  type: 'trade',
});

describe('vwap close on idle', () => {
  it('emits the open window after idleCloseMs of wall clock without trades; a trade for it is late then', async () => {
    const b = new TopologyBuilder('vwap');
    b.stream<string, Trade>('trades', J)
      .process<string, VwapWindow>('vwap', {
        name: 'vwap',
        options: { store: 'vwap-store', sizeMs: 60_000, graceMs: 10_000, idleCloseMs: 20_000 },
        stores: ['vwap-store'],
      })
      .to('vwap.1m', J);
    const d = await start(b.build('app'));
    const trades = d.input<string, Trade>('trades', J);
    await trades.pipe('AAPL', trade('AAPL', 60_500, 10, 1));
    await trades.pipe('AAPL', trade('AAPL', 61_000, 13, 2));
    await d.advanceWallClock(19_000);
    expect(d.output('vwap.1m', J).isEmpty()).toBe(true);
    // Idle for 20 s: the clock moves on 20 s a check; the window closes at 60 000 + 60 000 + 10 000.
    for (let i = 0; i < 6; i++) await d.advanceWallClock(20_000);
    const out = d.output<string, VwapWindow>('vwap.1m', J).readAll();
    expect(out.map((r) => [r.value.window_start, r.value.vwap, r.value.trade_count])).toEqual([
      [60_000, 12, 2],
    ]);
    await trades.pipe('AAPL', trade('AAPL', 62_000, 11, 1));
    expect(d.deadLetters().map((l) => l.headers[DLQ_HEADERS.reason])).toEqual(['late']);
  });
});
