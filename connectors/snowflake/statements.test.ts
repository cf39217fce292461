import { describe, expect, it } from 'vitest';
import { prepareRows } from '../warehouse/rows.js';
import { OFFSETS_TABLE, tradesTable } from '../warehouse/tables.js';
import {
  chunkRows,
  deleteInsertStatements,
  mergeStatement,
  upsertStatements,
} from './statements.js';

const spec = tradesTable('symbol+timestamp');
const rows = prepareRows(
  spec,
  [
    {
      uuid: 'u1',
      trade_conditions: null,
      price: 0.1,
      symbol: "x'); DROP TABLE trades; --",
      trade_timestamp: 1575526691134,
      ingest_timestamp: 1,
      volume: 2,
      type: 'trade',
    },
    {
      uuid: 'u2',
      trade_conditions: '1,12',
      price: 7296.89,
      symbol: 'AAPL',
      trade_timestamp: -500,
      ingest_timestamp: 2,
      volume: 1e-7,
      type: null,
    },
  ],
  'snowflake',
);

describe('mergeStatement', () => {
  const s = mergeStatement('MARKETS.PUBLIC.trades', spec, rows);

  it('binds every value and puts none in the SQL text', () => {
    expect(s.binds).toEqual([
      'u1',
      null,
      '0.1',
      "x'); DROP TABLE trades; --",
      '1575526691134',
      '1',
      '2',
      'trade',
      'u2',
      '1,12',
      '7296.89',
      'AAPL',
      '-500',
      '2',
      '1e-7',
      null,
    ]);
    expect(s.sqlText).not.toMatch(/DROP|AAPL|u1|7296/);
    expect(s.sqlText.match(/\?/g)).toHaveLength(16);
  });

  it('merges on the primary key, updating the other columns', () => {
    expect(s.sqlText).toMatch(
      /^MERGE INTO MARKETS\.PUBLIC\.trades AS t USING \(SELECT CAST\(column1 AS VARCHAR\) AS uuid, .*TO_TIMESTAMP_NTZ\(CAST\(column5 AS NUMBER\(38,0\)\), 3\) AS trade_timestamp.* FROM VALUES \(\?, \?, \?, \?, \?, \?, \?, \?\), \(\?, .*\) AS s ON t\.symbol = s\.symbol AND t\.trade_timestamp = s\.trade_timestamp /,
    );
    expect(s.sqlText).toMatch(
      /WHEN MATCHED THEN UPDATE SET uuid = s\.uuid, trade_conditions = s\.trade_conditions, price = s\.price, ingest_timestamp = s\.ingest_timestamp, volume = s\.volume, type = s\.type WHEN NOT MATCHED THEN INSERT \(uuid, .*, type\) VALUES \(s\.uuid, .*, s\.type\)$/,
    );
  });

  it('numbers travel as text that parses back to the same double', () => {
    for (const b of s.binds.filter((x) => x !== null && /^[-\d.e]+$/.test(x)))
      expect(String(Number(b))).toBe(b);
  });
});

describe('deleteInsertStatements', () => {
  it('deletes the keys, then inserts the rows', () => {
    const [del, ins] = deleteInsertStatements('D.S.millrace_offsets', OFFSETS_TABLE, [
      ['s', 't', 0, 5, 9],
    ]);
    expect(del).toEqual({
      sqlText:
        'DELETE FROM D.S.millrace_offsets AS t USING (SELECT CAST(column1 AS VARCHAR) AS sink_id, CAST(column2 AS VARCHAR) AS topic, CAST(column3 AS NUMBER(38,0)) AS partition FROM VALUES (?, ?, ?)) AS s WHERE t.sink_id = s.sink_id AND t.topic = s.topic AND t.partition = s.partition',
      binds: ['s', 't', '0'],
    });
    expect(ins!.sqlText).toBe(
      'INSERT INTO D.S.millrace_offsets (sink_id, topic, partition, next_offset, updated_at) SELECT CAST(column1 AS VARCHAR) AS sink_id, CAST(column2 AS VARCHAR) AS topic, CAST(column3 AS NUMBER(38,0)) AS partition, CAST(column4 AS NUMBER(38,0)) AS next_offset, TO_TIMESTAMP_NTZ(CAST(column5 AS NUMBER(38,0)), 3) AS updated_at FROM VALUES (?, ?, ?, ?, ?)',
    );
    expect(ins!.binds).toEqual(['s', 't', '0', '5', '9']);
  });
});

describe('chunking', () => {
  const many = Array.from({ length: 25 }, (_, i) => ['x'.repeat(100), i]);

  it('splits by rows and by bytes, whichever comes first', () => {
    expect(chunkRows(many, { maxRows: 10, maxBytes: 1 << 20 }).map((c) => c.length)).toEqual([
      10, 10, 5,
    ]);
    // Each row ≈ 2×32 overhead + 100 + up to 2 digits ≈ 166 bytes: 3 rows fit in 500.
    expect(chunkRows(many, { maxRows: 100, maxBytes: 500 }).map((c) => c.length)).toEqual([
      3, 3, 3, 3, 3, 3, 3, 3, 1,
    ]);
    expect(chunkRows([['y'.repeat(5000)]], { maxRows: 10, maxBytes: 1000 })).toHaveLength(1); // an oversized row still goes, alone
  });

  it('makes one MERGE per chunk, or a DELETE and an INSERT per chunk', () => {
    const limits = { maxRows: 1, maxBytes: 1 << 20 };
    expect(
      upsertStatements('merge', 'D.S.trades', spec, rows, limits).map(
        (s) => s.sqlText.split(' ')[0],
      ),
    ).toEqual(['MERGE', 'MERGE']);
    expect(
      upsertStatements('delete-insert', 'D.S.trades', spec, rows, limits).map(
        (s) => s.sqlText.split(' ')[0],
      ),
    ).toEqual(['DELETE', 'INSERT', 'DELETE', 'INSERT']);
    expect(upsertStatements('merge', 'D.S.trades', spec, [], limits)).toEqual([]);
  });
});
