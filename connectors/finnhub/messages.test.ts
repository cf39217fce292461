import { describe, expect, it } from 'vitest';
import { parseFrame, splitBySymbol } from './messages.js';

const trade = (s: string, p: number, t: number, v = 1, c?: unknown) => ({
  s,
  p,
  t,
  v,
  ...(c === undefined ? {} : { c }),
});

describe('parseFrame', () => {
  it('splits a frame that mixes symbols into one message per symbol, in first-seen order', () => {
    const frame = JSON.stringify({
      type: 'trade',
      data: [
        trade('BINANCE:BTCUSDT', 7296.89, 1575526691134, 0.011467, ['1', '12']),
        trade('AAPL', 189.5, 1575526691135, 100),
        trade('BINANCE:BTCUSDT', 7296.9, 1575526691136, 0.5, null),
      ],
    });
    const p = parseFrame(frame, 99);
    expect(p.kind).toBe('trades');
    if (p.kind !== 'trades') return;
    expect(p.messages).toEqual([
      {
        type: 'trade',
        ingest_timestamp: 99,
        data: [
          { s: 'BINANCE:BTCUSDT', p: 7296.89, t: 1575526691134, v: 0.011467, c: ['1', '12'] },
          { s: 'BINANCE:BTCUSDT', p: 7296.9, t: 1575526691136, v: 0.5, c: null },
        ],
      },
      {
        type: 'trade',
        ingest_timestamp: 99,
        data: [{ s: 'AAPL', p: 189.5, t: 1575526691135, v: 100, c: null }],
      },
    ]);
  });

  it('reads bytes as well as text, absent conditions as null, numeric conditions as text', () => {
    const p = parseFrame(
      Buffer.from('{"type":"trade","data":[{"s":"AAPL","p":1,"t":2.7,"v":3,"c":[1,"12"]}]}'),
      5,
    );
    expect(p).toEqual({
      kind: 'trades',
      messages: [
        {
          type: 'trade',
          ingest_timestamp: 5,
          data: [{ s: 'AAPL', p: 1, t: 2, v: 3, c: ['1', '12'] }],
        },
      ],
    });
  });

  it('knows ping and error messages', () => {
    expect(parseFrame('{"type":"ping"}', 1)).toEqual({ kind: 'ping' });
    expect(parseFrame('{"type":"error","msg":"Invalid symbol"}', 1)).toEqual({
      kind: 'error',
      message: 'Invalid symbol',
    });
  });

  it.each([
    ['{"type":"trade","data":[{"s":"AAPL","p":', 'not_json', /JSON/],
    ['"hello"', 'not_an_object', /string/],
    ['["trade"]', 'not_an_object', /array/],
    ['{"type":"quote","data":[]}', 'unknown_type', /"quote"/],
    ['{"data":[]}', 'unknown_type', /null/],
    ['{"type":"trade"}', 'trade_without_data', /no data/],
    ['{"type":"trade","data":[]}', 'trade_without_data', /empty/],
    [
      '{"type":"trade","data":[{"s":"AAPL","p":1,"t":2,"v":1},{"s":"AAPL","p":"1","t":2,"v":1}]}',
      'trade_entry_shape',
      /data\[1\]\.p is not a number/,
    ],
    ['{"type":"trade","data":[{"p":1,"t":2,"v":1}]}', 'trade_entry_shape', /\.s/],
    ['{"type":"trade","data":[{"s":"A","p":1,"t":2,"v":1,"c":"1"}]}', 'trade_entry_shape', /\.c/],
    ['{"type":"trade","data":[7]}', 'trade_entry_shape', /not an object/],
    // Times no Avro long holds: writing them to trades.raw would throw and stop the ingest.
    [
      '{"type":"trade","data":[{"s":"A","p":1,"t":1e20,"v":1}]}',
      'trade_entry_shape',
      /\.t is not a time/,
    ],
    [
      '{"type":"trade","data":[{"s":"A","p":1,"t":1e400,"v":1}]}',
      'trade_entry_shape',
      /\.t is not a time/,
    ],
    [
      '{"type":"trade","data":[{"s":"A","p":1,"t":-1e400,"v":1}]}',
      'trade_entry_shape',
      /\.t is not a time/,
    ],
  ])('rejects %s as %s, whole', (frame, reason, detail) => {
    const p = parseFrame(frame, 1);
    expect(p).toMatchObject({ kind: 'reject', reason });
    if (p.kind === 'reject') expect(p.detail).toMatch(detail);
  });
});

describe('splitBySymbol', () => {
  it('keeps a one-symbol batch as one message without copying', () => {
    const data = [
      { s: 'A', p: 1, t: 1, v: 1, c: null },
      { s: 'A', p: 2, t: 2, v: 1, c: null },
    ];
    const [m, ...rest] = splitBySymbol(data, 3);
    expect(rest).toEqual([]);
    expect(m!.data).toBe(data);
  });
});
