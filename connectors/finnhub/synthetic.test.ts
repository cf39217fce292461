import { describe, expect, it } from 'vitest';
import { parseFrame } from './messages.js';
import { syntheticFeed, type SyntheticFrame } from './synthetic.js';

const take = (n: number, o = {}) => {
  const out: SyntheticFrame[] = [];
  for (const f of syntheticFeed({ startMs: 1_700_000_000_000, ...o })) {
    out.push(f);
    if (out.length >= n) break;
  }
  return out;
};

describe('synthetic Finnhub feed', () => {
  it('is deterministic for a seed and differs across seeds', () => {
    expect(take(2000, { seed: 7 })).toEqual(take(2000, { seed: 7 }));
    expect(take(50, { seed: 7 }).map((f) => f.text)).not.toEqual(
      take(50, { seed: 8 }).map((f) => f.text),
    );
  });

  it('produces every kind at roughly its configured share, with same-millisecond distinct trades', () => {
    const frames = take(20_000);
    const share = (k: SyntheticFrame['kind']) =>
      frames.filter((f) => f.kind === k).length / frames.length;
    expect(share('duplicate')).toBeGreaterThan(0.01);
    expect(share('duplicate')).toBeLessThan(0.03);
    expect(share('same-ms')).toBeGreaterThan(0.02);
    expect(share('late')).toBeGreaterThan(0.002);
    expect(share('malformed')).toBeGreaterThan(0.0005);
    const sameMs = frames.find((f) => f.kind === 'same-ms')!;
    const [a, b] = JSON.parse(sameMs.text).data;
    expect(a.s).toBe(b.s);
    expect(a.t).toBe(b.t);
    expect(a.p).not.toBe(b.p);
    for (const f of frames)
      if (f.kind === 'malformed') expect(parseFrame(f.text, 0).kind).toBe('reject');
  });
});

describe('frame parsing', () => {
  it('splits a frame that mixes symbols into one message per symbol', () => {
    const r = parseFrame(
      JSON.stringify({
        type: 'trade',
        data: [
          { s: 'A', p: 1, t: 5, v: 1 },
          { s: 'B', p: 2, t: 6, v: 1, c: ['1'] },
          { s: 'A', p: 3, t: 7, v: 2, c: null },
        ],
      }),
      99,
    );
    expect(r).toEqual({
      kind: 'trades',
      messages: [
        {
          type: 'trade',
          ingest_timestamp: 99,
          data: [
            { s: 'A', p: 1, t: 5, v: 1, c: null },
            { s: 'A', p: 3, t: 7, v: 2, c: null },
          ],
        },
        { type: 'trade', ingest_timestamp: 99, data: [{ s: 'B', p: 2, t: 6, v: 1, c: ['1'] }] },
      ],
    });
  });

  it('knows ping and error, and rejects the rest with a reason', () => {
    expect(parseFrame('{"type":"ping"}', 0)).toEqual({ kind: 'ping' });
    expect(parseFrame('{"type":"error","msg":"Invalid token"}', 0)).toEqual({
      kind: 'error',
      message: 'Invalid token',
    });
    expect(parseFrame('{"type":"trade","data":[{"s"', 0)).toEqual({
      kind: 'reject',
      reason: 'not_json',
    });
    expect(parseFrame('{"type":"news"}', 0)).toEqual({
      kind: 'reject',
      reason: 'unknown_type_news',
    });
    expect(parseFrame('{"type":"trade","data":[{"s":"A","p":"x","t":1,"v":1}]}', 0)).toEqual({
      kind: 'reject',
      reason: 'trade_entry_shape',
    });
  });
});
