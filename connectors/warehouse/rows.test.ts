import { describe, expect, it } from 'vitest';
import { SinkError } from './errors.js';
import { offsetsFromRows, rowProblem } from './batch.js';
import { offsetRows } from './offsets.js';
import { prepareRows } from './rows.js';
import { OFFSETS_TABLE, tradesTable, VWAP_1M_TABLE } from './tables.js';

const trade = (o: Record<string, unknown> = {}) => ({
  uuid: 'u',
  trade_conditions: '1',
  price: 1.5,
  symbol: 'AAPL',
  trade_timestamp: 1000,
  ingest_timestamp: 1001,
  volume: 2,
  type: 'trade',
  ...o,
});

describe('prepareRows', () => {
  it('orders values as the DDL does', () => {
    expect(prepareRows(tradesTable('symbol+timestamp'), [trade()], 't')).toEqual([
      ['u', '1', 1.5, 'AAPL', 1000, 1001, 2, 'trade'],
    ]);
  });

  it('keeps the last row per primary key, in first-seen order', () => {
    const rows = [trade({ uuid: 'a' }), trade({ symbol: 'MSFT', uuid: 'b' }), trade({ uuid: 'c' })];
    expect(prepareRows(tradesTable('symbol+timestamp'), rows, 't').map((r) => r[0])).toEqual([
      'c',
      'b',
    ]);
    expect(
      prepareRows(tradesTable('content'), [trade({ price: 1 }), trade({ price: 2 })], 't'),
    ).toHaveLength(2);
  });

  it('stores a missing key string as "" and a missing non-key value as NULL', () => {
    const content = tradesTable('content');
    expect(
      prepareRows(content, [trade({ trade_conditions: null, type: undefined })], 't')[0],
    ).toEqual(['u', '', 1.5, 'AAPL', 1000, 1001, 2, null]);
    expect(
      prepareRows(tradesTable('symbol+timestamp'), [trade({ trade_conditions: null })], 't')[0]![1],
    ).toBeNull();
  });

  it('leaves NOT NULL to the warehouse, so a failing batch fails inside its transaction', () => {
    expect(
      prepareRows(
        VWAP_1M_TABLE,
        [{ symbol: 'A', window_start: 0, window_end: 60_000, volume: null, trade_count: 1 }],
        't',
      )[0]![4],
    ).toBeNull();
  });

  it('accepts bigint integers and rejects what does not fit, naming table, row and column', () => {
    expect(
      prepareRows(
        VWAP_1M_TABLE,
        [{ symbol: 'A', window_start: 0n, window_end: 60_000, volume: 1, trade_count: 3n }],
        't',
      )[0]![5],
    ).toBe(3);
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [
        trade({ trade_timestamp: 1.5 }),
        /trades row 0: column trade_timestamp must be an integer epoch-millisecond timestamp, got 1.5/,
      ],
      [trade({ price: Number.NaN }), /column price must be a finite number, got NaN/],
      [trade({ symbol: 42 }), /column symbol must be a string, got 42/],
      [trade({ extra: 1 }), /column extra is not a column of trades/],
    ];
    for (const [row, msg] of cases) {
      const err = (() => {
        try {
          prepareRows(tradesTable('symbol+timestamp'), [row], 'duckdb');
        } catch (e) {
          return e;
        }
      })();
      expect(err).toBeInstanceOf(SinkError);
      expect(err).toMatchObject({
        code: 'SINK_ROW_INVALID',
        domain: 'user',
        message: expect.stringMatching(msg),
      });
    }
  });
});

describe('rowProblem (what the sink dead-letters after a failed write)', () => {
  const tables = new Map([['trades', tradesTable('symbol+timestamp')]]);
  it('names the column of a row that does not fit, and passes one that does', () => {
    expect(rowProblem(tables, 't', 'trades', trade())).toBeUndefined();
    expect(rowProblem(tables, 't', 'trades', trade({ price: Number.NaN }))).toMatch(/price/);
    expect(rowProblem(tables, 't', 'trades', trade({ extra: 1 }))).toMatch(/extra/);
  });
  it("throws what is not the row's fault (a table the sink does not manage)", () => {
    expect(() => rowProblem(tables, 't', 'nope', trade())).toThrow(/no table nope/);
  });
});

describe('offsets', () => {
  it('become millrace_offsets rows and back', () => {
    const rows = offsetRows(
      's1',
      new Map([
        ['trades.raw:0', 10],
        ['my.topic-x:12', 0],
      ]),
      5,
      't',
    );
    expect(rows).toEqual([
      ['s1', 'trades.raw', 0, 10, 5],
      ['s1', 'my.topic-x', 12, 0, 5],
    ]);
    expect(OFFSETS_TABLE.columns.map((c) => c.name)).toEqual([
      'sink_id',
      'topic',
      'partition',
      'next_offset',
      'updated_at',
    ]);
    expect(
      offsetsFromRows(
        rows.map(([, topic, partition, next]) => ({
          topic: topic as string,
          partition: partition as number,
          next_offset: next as number,
        })),
      ),
    ).toEqual(
      new Map([
        ['trades.raw:0', 10],
        ['my.topic-x:12', 0],
      ]),
    );
  });

  it('refuses malformed keys and offsets', () => {
    for (const [k, v] of [
      ['nopartition', 1],
      ['t:-1', 1],
      ['t:1', -1],
      ['t:x', 1],
      [':1', 1],
    ] as const) {
      expect(() => offsetRows('s', new Map([[k, v]]), 0, 't')).toThrow(/is not "topic:partition"/);
    }
  });
});
