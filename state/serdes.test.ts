import { describe, expect, it } from 'vitest';
import {
  registerSerde,
  bytesSerde,
  float64Serde,
  int64Serde,
  jsonSerde,
  serdeByName,
  stringSerde,
} from './serdes.js';

describe('serdes', () => {
  it('int64 is 8-byte big-endian two’s complement (Kafka’s LongSerializer)', () => {
    expect(int64Serde.serialize(1).toString('hex')).toBe('0000000000000001');
    expect(int64Serde.serialize(-1).toString('hex')).toBe('ffffffffffffffff');
    expect(int64Serde.serialize(2 ** 32 + 5).toString('hex')).toBe('0000000100000005');
    expect(int64Serde.serialize(-(2 ** 32)).toString('hex')).toBe('ffffffff00000000');
    expect(int64Serde.deserialize(Buffer.from('fffffffffffffffe', 'hex'))).toBe(-2);
  });

  it('int64 round-trips safe integers; byte order is numeric order for non-negative ones', () => {
    const negatives = [Number.MIN_SAFE_INTEGER, -(2 ** 40) - 5, -(2 ** 32), -42, -1];
    const nonNegatives = [
      0,
      1,
      42,
      2 ** 32 - 1,
      2 ** 32,
      2 ** 40 + 5,
      1_700_000_000_000,
      Number.MAX_SAFE_INTEGER,
    ];
    for (const v of [...negatives, ...nonNegatives])
      expect(int64Serde.deserialize(int64Serde.serialize(v))).toBe(v);
    const byBytes = [...nonNegatives]
      .reverse()
      .map((v) => int64Serde.serialize(v))
      .sort(Buffer.compare)
      .map((b) => int64Serde.deserialize(b));
    expect(byBytes).toEqual(nonNegatives);
  });

  it('int64 refuses what it cannot represent exactly, saying what to use', () => {
    expect(() => int64Serde.serialize(1.5)).toThrow(/safe integers.*float64/);
    expect(() => int64Serde.serialize(2 ** 60)).toThrow(/safe integers/);
    expect(() => int64Serde.serialize(Number.NaN)).toThrow(/safe integers/);
  });

  it('round-trips strings (UTF-8), JSON, bytes and float64', () => {
    expect(stringSerde.serialize('é').toString('hex')).toBe('c3a9');
    expect(stringSerde.deserialize(stringSerde.serialize('ąé漢😀'))).toBe('ąé漢😀');
    expect(jsonSerde.deserialize(jsonSerde.serialize({ a: [1, null] }))).toEqual({ a: [1, null] });
    const b = Buffer.from([0, 255]);
    expect(bytesSerde.serialize(b)).toBe(b);
    expect(bytesSerde.deserialize(b)).toBe(b);
    for (const v of [-0.1, 0, 1e300, -Infinity])
      expect(float64Serde.deserialize(float64Serde.serialize(v))).toBe(v);
  });

  it('looks serdes up by name, and names the known ones when asked for an unknown one', () => {
    expect(serdeByName('int64')).toBe(int64Serde);
    expect(() => serdeByName('avro')).toThrow(
      /unknown serde "avro"; built-in serdes are string, json, bytes, int64, float64/,
    );
  });
});

describe('registerSerde', () => {
  it('makes a serde known by name; a name taken by another serde is an error naming it', () => {
    const upper = { serialize: (v: string) => Buffer.from(v.toUpperCase()), deserialize: String };
    registerSerde('test-upper', upper);
    registerSerde('test-upper', upper); // the same again: no-op
    expect(serdeByName('test-upper')).toBe(upper);
    expect(() => registerSerde('json', upper)).toThrow(/"json" is already registered/);
  });
});
