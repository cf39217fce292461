import { describe, expect, it } from 'vitest';
import { decodeOffsetMetadata, encodeOffsetMetadata } from './offset-metadata.js';

describe('offset metadata', () => {
  it('round-trips a stream time', () => {
    expect(decodeOffsetMetadata(encodeOffsetMetadata(1_764_000_000_123))).toBe(1_764_000_000_123);
    expect(decodeOffsetMetadata(encodeOffsetMetadata(0))).toBe(0);
  });

  it('writes nothing before the first record', () => {
    expect(encodeOffsetMetadata(-1)).toBeNull();
  });

  it('ignores metadata it did not write (another tool, another version, garbage)', () => {
    for (const m of [
      null,
      undefined,
      '',
      'abc',
      '{"v":2,"streamTime":5}',
      '{"v":1}',
      '{"v":1,"streamTime":-3}',
      '{"v":1,"streamTime":"7"}',
      'AQAAAXsAAAA=',
    ])
      expect(decodeOffsetMetadata(m)).toBeUndefined();
  });
});
