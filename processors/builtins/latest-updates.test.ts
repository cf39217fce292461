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
      latest.put(rec(k, 0), v);
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
    latest.put(rec('a', 0), 1);
    latest.put(rec('b', 0), 1);
    latest.put(rec('a', 0), 2); // a is now the most recent: b is the one to leave next
    expect(out).toEqual([]);
    latest.put(rec('c', 0), 1);
    expect(out).toEqual(['b=1']);
    latest.put(rec('d', 0), 1);
    expect(out).toEqual(['b=1', 'a=2']);
    latest.flush();
    expect(out).toEqual(['b=1', 'a=2', 'c=1', 'd=1']);
  });

  it('treats equal Buffers and equal object keys as one key, and 1 apart from "1"', () => {
    const { out, latest } = collect(10);
    latest.put(rec(Buffer.from('k'), 0), 1);
    latest.put(rec(Buffer.from('k'), 0), 2);
    latest.put(rec({ user: 'ann' }, 0), 1);
    latest.put(rec({ user: 'ann' }, 0), 2);
    latest.put(rec(1, 0), 'n');
    latest.put(rec('1', 0), 's');
    expect(latest.size).toBe(4);
    latest.flush();
    expect(out).toEqual(['k=2', '[object Object]=2', '1=n', '1=s']);
  });

  it('emits the newest update with its own record (timestamp, headers), the value it was given', () => {
    const out: StreamRecord[] = [];
    const latest = new LatestUpdates(10, (r) => out.push(r));
    latest.put({ key: 'a', value: 'in-1', timestamp: 1, headers: { h: '1' } }, 10);
    latest.put({ key: 'a', value: 'in-2', timestamp: 2, headers: { h: '2' } }, 20);
    latest.flush();
    expect(out).toEqual([{ key: 'a', value: 20, timestamp: 2, headers: { h: '2' } }]);
  });

  it('matches a plain least-recently-updated model over random updates and evictions', () => {
    let seed = 7;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    for (const maxKeys of [1, 3, 8]) {
      const { out, latest } = collect(maxKeys);
      const model = new Map<string, number>();
      const expected: string[] = [];
      for (let i = 0; i < 2000; i++) {
        if (random(50) === 0) {
          latest.flush();
          for (const [k, v] of model) expected.push(`${k}=${v}`);
          model.clear();
          continue;
        }
        const k = `k${random(12)}`;
        latest.put(rec(k, 0), i);
        model.delete(k);
        model.set(k, i);
        if (model.size > maxKeys) {
          const [oldest, v] = model.entries().next().value as [string, number];
          model.delete(oldest);
          expected.push(`${oldest}=${v}`);
        }
        expect(latest.size).toBe(model.size);
      }
      expect(out).toEqual(expected);
    }
  });
});
