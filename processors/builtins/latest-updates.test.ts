import { describe, expect, it } from 'vitest';
import type { StreamRecord } from '../api.js';
import { LatestUpdates } from './latest-updates.js';

const rec = (key: unknown, value: unknown): StreamRecord => ({
  key,
  value,
  timestamp: 0,
  headers: {},
});

function collect(maxKeys: number) {
  const out: string[] = [];
  const latest = new LatestUpdates(maxKeys, (r) => out.push(`${String(r.key)}=${String(r.value)}`));
  return { out, latest };
}

describe('LatestUpdates (the on-commit buffer of count and aggregate)', () => {
  it('keeps only the newest update per key and emits them least recently updated first', () => {
    const { out, latest } = collect(10);
    for (const [k, v] of [
      ['a', 1],
      ['b', 1],
      ['a', 2],
      ['c', 1],
      ['b', 2],
    ] as const)
      latest.put(rec(k, v));
    expect(out).toEqual([]);
    expect(latest.size).toBe(3);
    latest.flush();
    expect(out).toEqual(['a=2', 'c=1', 'b=2']);
    expect(latest.size).toBe(0);
    latest.flush();
    expect(out).toHaveLength(3);
  });

  it('past maxKeys emits the least recently updated key at once, with its newest value', () => {
    const { out, latest } = collect(2);
    latest.put(rec('a', 1));
    latest.put(rec('b', 1));
    latest.put(rec('a', 2)); // a is now the most recent: b is the one to leave next
    expect(out).toEqual([]);
    latest.put(rec('c', 1));
    expect(out).toEqual(['b=1']);
    latest.put(rec('d', 1));
    expect(out).toEqual(['b=1', 'a=2']);
    latest.flush();
    expect(out).toEqual(['b=1', 'a=2', 'c=1', 'd=1']);
  });

  it('treats equal Buffers and equal object keys as one key, and 1 apart from "1"', () => {
    const { out, latest } = collect(10);
    latest.put(rec(Buffer.from('k'), 1));
    latest.put(rec(Buffer.from('k'), 2));
    latest.put(rec({ user: 'ann' }, 1));
    latest.put(rec({ user: 'ann' }, 2));
    latest.put(rec(1, 'n'));
    latest.put(rec('1', 's'));
    expect(latest.size).toBe(4);
    latest.flush();
    expect(out).toEqual(['k=2', '[object Object]=2', '1=n', '1=s']);
  });
});
