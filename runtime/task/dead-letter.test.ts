import { describe, expect, it } from 'vitest';
import { DEAD_LETTER_MAX_BYTES, DLQ_HEADERS, deadLetterRecord } from './dead-letter.js';
import type { RawRecord } from './types.js';

const raw = (value: Buffer, key = Buffer.from('AAPL')): RawRecord => ({
  topic: 'trades.raw',
  partition: 3,
  offset: 42,
  key,
  value,
  timestamp: 1_700_000_000_000,
  headers: {},
});

const cause = (r: RawRecord) => ({
  topic: 'app-dlq',
  task: '0_3',
  processor: 'explode',
  reason: 'deserialization_error',
  error: new Error('bad magic byte'),
  raw: r,
  now: 1_800_000_000_000,
});

const bytes = (h: Record<string, string | Buffer | undefined> = {}) =>
  Object.entries(h).reduce((n, [k, v]) => n + k.length + (v?.length ?? 0), 0);

describe('deadLetterRecord', () => {
  it('carries the original bytes and says where they came from', () => {
    const value = Buffer.from([1, 2, 3]);
    const d = deadLetterRecord(cause(raw(value)));
    expect(d.value).toEqual(value);
    expect(d.headers?.[DLQ_HEADERS.offset]).toBe('42');
    expect(d.headers?.[DLQ_HEADERS.truncated]).toBeUndefined();
  });

  it('is stamped when it is written, not with the record’s time (which the broker’s retention would delete at once when old), and keeps that time in a header', () => {
    const d = deadLetterRecord(cause(raw(Buffer.from('x'))));
    expect(d.timestamp).toBe(1_800_000_000_000);
    expect(d.headers?.[DLQ_HEADERS.timestamp]).toBe('1700000000000');
  });

  it('cuts a record too large to be written with its headers, and says how large it was', () => {
    const value = Buffer.alloc((1 << 20) - 300, 7); // the broker took it; with headers it no longer fits
    const d = deadLetterRecord(cause(raw(value)));
    const size = (d.key?.length ?? 0) + (d.value?.length ?? 0) + bytes(d.headers);
    expect(size).toBeLessThanOrEqual(DEAD_LETTER_MAX_BYTES);
    expect(d.headers?.[DLQ_HEADERS.truncated]).toBe('true');
    expect(d.headers?.[DLQ_HEADERS.valueSize]).toBe(String(value.length));
    expect(d.key?.toString()).toBe('AAPL');
    expect(d.value!.equals(value.subarray(0, d.value!.length))).toBe(true);
    expect(d.headers?.[DLQ_HEADERS.topic]).toBe('trades.raw');
  });
});
