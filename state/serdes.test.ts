import { describe, expect, it } from 'vitest';
import { float64Serde, int64Serde, jsonSerde, serdeByName, stringSerde } from './serdes.js';

describe('serdes', () => {
  it('int64 round-trips safe integers and sorts in numeric order by bytes', () => {
    const values = [
      Number.MIN_SAFE_INTEGER,
      -(2 ** 40) - 5,
      -(2 ** 32),
      -42,
      -1,
      0,
      1,
      42,
      2 ** 32,
      2 ** 40 + 5,
      1_700_000_000_000,
      Number.MAX_SAFE_INTEGER,
    ];
    for (const v of values) expect(int64Serde.deserialize(int64Serde.serialize(v))).toBe(v);
    const sorted = [...values]
      .sort(() => Math.random() - 0.5)
      .map((v) => int64Serde.serialize(v))
      .sort(Buffer.compare)
      .map((b) => int64Serde.deserialize(b));
    expect(sorted).toEqual(values);
  });

  it('round-trips strings, JSON and floats', () => {
    expect(stringSerde.deserialize(stringSerde.serialize('ąé漢'))).toBe('ąé漢');
    expect(jsonSerde.deserialize(jsonSerde.serialize({ a: [1, null] }))).toEqual({ a: [1, null] });
    expect(float64Serde.deserialize(float64Serde.serialize(-0.1))).toBe(-0.1);
  });

  it('names the known serdes when asked for an unknown one', () => {
    expect(() => serdeByName('avro')).toThrow(
      /unknown serde "avro"; built-in serdes are string, json, bytes, int64, float64/,
    );
  });
});
