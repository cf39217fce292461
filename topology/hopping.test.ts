/**
 * Hopping windows in the topology test driver: each record counts in every window that
 * holds it, each window is emitted once when stream time passes its end + grace, a record
 * whose windows are all closed is late, and bad window options fail at build().
 */
import { describe, expect, it } from 'vitest';
import '../processors/index.js';
import { TopologyBuilder } from './builder.js';
import { hopping } from './grouped.js';
import { useDriver } from '../test/support/driver.js';

const start = useDriver();

const S = { key: 'string', value: 'string' };

function hoppingCount(sizeMs: number, advanceMs: number, graceMs: number) {
  const b = new TopologyBuilder();
  b.stream('events', S)
    .groupByKey()
    .windowedBy(hopping(sizeMs, advanceMs, graceMs))
    .count({ name: 'n' })
    .to('counts', { key: 'string', value: 'json' });
  return b.build();
}

/** Counts per window of each key, done here: every window [s, s + size) with s a multiple of advance. */
function oracle(events: Array<[string, number]>, size: number, advance: number) {
  const m = new Map<string, number>();
  for (const [k, ts] of events)
    for (let s = Math.floor(ts / advance) * advance; s > ts - size; s -= advance)
      m.set(`${k}@${s}`, (m.get(`${k}@${s}`) ?? 0) + 1);
  return m;
}

describe('hopping windows', () => {
  it('counts each record in every window holding it; each window emitted once, after end + grace', async () => {
    const d = await start(hoppingCount(10_000, 2_000, 1_000));
    const events: Array<[string, number]> = [];
    for (let i = 0; i < 200; i++) events.push([`k${i % 3}`, 1_000 + ((i * 337) % 30_000)]);
    events.sort((a, b) => a[1] - b[1]); // in order: nothing is late
    const input = d.input('events');
    for (const [k, ts] of events) await input.pipe(k, 'x', { timestamp: ts });
    await input.pipe('flush', 'x', { timestamp: 100_000 }); // closes every window above
    const got = d
      .output<string, { window_start: number; window_end: number; value: number }>('counts')
      .readAll()
      .filter((r) => r.key !== 'flush');
    const seen = new Map<string, number>();
    for (const r of got) {
      const id = `${r.key}@${r.value.window_start}`;
      expect(seen.has(id), `window ${id} emitted twice`).toBe(false);
      expect(r.value.window_end - r.value.window_start).toBe(10_000);
      seen.set(id, r.value.value);
    }
    expect(seen).toEqual(oracle(events, 10_000, 2_000));
  });

  it('a record counts only in its windows still open; when all are closed it is late', async () => {
    const b = new TopologyBuilder();
    const counts = b
      .stream('events', S)
      .groupByKey()
      .windowedBy(hopping(4_000, 1_000, 0))
      .count({ name: 'n' });
    counts.to('counts', { key: 'string', value: 'json' });
    counts.output('late').to('late', S);
    const d = await start(b.build());
    const input = d.input('events');
    await input.pipe('a', 'x', { timestamp: 10_000 }); // windows 7000..10000
    await input.pipe('a', 'x', { timestamp: 12_000 }); // closes windows ending at or before 12000: 7000, 8000
    await input.pipe('a', 'late-ish', { timestamp: 8_500 }); // windows 5000..8000 all closed: late
    await input.pipe('a', 'partly', { timestamp: 9_500 }); // 6000..8000 closed, 9000 open
    await input.pipe('a', 'x', { timestamp: 20_000 });
    const byStart = new Map(
      d
        .output<string, { window_start: number; value: number }>('counts')
        .readAll()
        .map((r) => [r.value.window_start, r.value.value]),
    );
    expect(byStart.get(7_000)).toBe(1);
    expect(byStart.get(8_000)).toBe(1);
    expect(byStart.get(9_000)).toBe(3); // 10000, 12000 and 9500
    expect(byStart.get(10_000)).toBe(2);
    expect(
      d
        .output('late', S)
        .readAll()
        .map((r) => r.value),
    ).toEqual(['late-ish']);
  });

  it('bad window options fail at build() naming the option', () => {
    expect(() => hoppingCount(1_000, 2_000, 0)).toThrow(
      /option advanceMs: advanceMs must be at most sizeMs/,
    );
  });
});
