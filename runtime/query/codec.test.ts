import { describe, expect, it } from 'vitest';
import { int64Serde, jsonSerde } from '../../state/index.js';
import {
  compareEntries,
  decodeCursor,
  encodeCursor,
  keyFromHex,
  parseKey,
  toJson,
} from './codec.js';

describe('query codec', () => {
  it('reads a key as the store’s key serde reads it, and says what is wrong with one', () => {
    expect(parseKey('AAPL', 'string')).toBe('AAPL');
    expect(parseKey('42', 'int64')).toBe(42);
    expect(parseKey('{"user":"a","n":1}', 'json')).toEqual({ user: 'a', n: 1 });
    expect(() => parseKey('4x', 'int64')).toThrow(/not a number.*int64/);
    expect(() => parseKey('AAPL', 'avro:trade')).toThrow(/not JSON.*keyHex/);
    const hex = int64Serde.serialize(7).toString('hex');
    expect(keyFromHex(hex, int64Serde as never)).toBe(7);
    expect(() => keyFromHex('zz', jsonSerde as never)).toThrow(/not hex/);
  });

  it('cursors go through text unchanged, and refuse what they did not give', () => {
    for (const c of [
      { partition: 3, keyHex: 'ff00' },
      { partition: 0, keyHex: '', time: 60_000 },
    ])
      expect(decodeCursor(encodeCursor(c))).toEqual(c);
    expect(() => decodeCursor('bm9wZQ')).toThrow(/not one this service gave/);
  });

  it('orders entries by time, then key bytes, then partition; answers are JSON with bigints and buffers readable', () => {
    const sorted = [
      { partition: 1, keyHex: '61', time: 0 },
      { partition: 0, keyHex: '62', time: 0 },
      { partition: 1, keyHex: '62', time: 0 },
      { partition: 0, keyHex: '00', time: 1 },
    ];
    expect([...sorted].reverse().sort(compareEntries)).toEqual(sorted);
    expect(JSON.parse(toJson({ n: 10n, b: Buffer.from('hi') }))).toEqual({ n: '10', b: 'aGk=' });
  });
});
