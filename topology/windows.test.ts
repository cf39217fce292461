/**
 * Session windows, sliding windows, windowed reduce, suppress and close on idle, run in the
 * topology test driver and checked against results computed here from the records alone.
 */
import { describe, expect, it } from 'vitest';
import '../processors/index.js';
import { TopologyTestDriver } from '../runtime/testing/driver.js';
import { DLQ_HEADERS } from '../runtime/task/dead-letter.js';
import {
  hopping,
  session,
  sliding,
  TopologyBuilder,
  tumbling,
  untilTimeLimit,
  untilWindowCloses,
  type Windowed,
} from './index.js';
import { rng, useDriver } from '../test/support/driver.js';

const start = useDriver();

const J = { key: 'string', value: 'json' } as const;

interface Ev {
  key: string;
  ts: number;
  n: number;
}

/**
 * `count` records over `keys` keys, timestamps rising by 0-`step` ms, delivered out of order
 * by at most `disorder` ms (each record may move behind later ones by up to that much).
 */
function events(seed: number, count: number, keys: number, step: number, disorder: number): Ev[] {
  const r = rng(seed);
  let t = 1_000_000;
  const made = Array.from({ length: count }, () => {
    t += Math.floor(r() * step);
    return { key: `k${Math.floor(r() * keys)}`, ts: t, n: 1 + Math.floor(r() * 9) };
  });
  const arrival = made.map((e) => ({ e, at: e.ts + Math.floor(r() * (disorder + 1)) }));
  return arrival.sort((a, b) => a.at - b.at).map((x) => x.e);
}

const byKey = (evs: Ev[]) => {
  const m = new Map<string, Ev[]>();
  for (const e of evs) m.set(e.key, [...(m.get(e.key) ?? []), e]);
  return m;
};

type Row = [key: string, start: number, end: number, value: number];
const sortRows = (rows: Row[]) =>
  rows.sort((a, b) => a[0].localeCompare(b[0]) || a[1] - b[1] || a[2] - b[2]);
const rowsOf = (records: Array<{ key: string; value: Windowed<number> }>): Row[] =>
  sortRows(records.map((r) => [r.key, r.value.window_start, r.value.window_end, r.value.value]));

/** Sessions of each key: records at most `gap` apart, with their count and sum. */
function sessionOracle(evs: Ev[], gap: number, sum: boolean): Row[] {
  const out: Row[] = [];
  for (const [key, list] of byKey(evs)) {
    const sorted = [...list].sort((a, b) => a.ts - b.ts);
    let cur: Row | undefined;
    for (const e of sorted) {
      if (cur && e.ts - cur[2] <= gap) {
        cur[2] = e.ts;
        cur[3] += sum ? e.n : 1;
      } else {
        if (cur) out.push(cur);
        cur = [key, e.ts, e.ts, sum ? e.n : 1];
      }
    }
    if (cur) out.push(cur);
  }
  return sortRows(out);
}

/** Sliding windows of each key: [t - d, t] for each record, [t + 1, t + 1 + d] when not empty. */
function slidingOracle(evs: Ev[], d: number, value: (in_: Ev[]) => number): Row[] {
  const out: Row[] = [];
  for (const [key, list] of byKey(evs)) {
    const times = [...new Set(list.map((e) => e.ts))];
    const starts = new Set<number>();
    for (const t of times) {
      starts.add(t - d);
      if (times.some((u) => u > t && u <= t + d + 1)) starts.add(t + 1);
    }
    for (const s of starts)
      out.push([key, s, s + d, value(list.filter((e) => e.ts >= s && e.ts <= s + d))]);
  }
  return sortRows(out);
}

/** Pipes `evs`, then one record far ahead (key `zz`) so every window of `evs` closes. */
async function pipeAndClose(d: TopologyTestDriver, topic: string, evs: Ev[]): Promise<void> {
  const input = d.input<string, { n: number }>(topic, J);
  for (const e of evs) await input.pipe(e.key, { n: e.n }, { timestamp: e.ts });
  const last = Math.max(...evs.map((e) => e.ts));
  await input.pipe('zz', { n: 0 }, { timestamp: last + 10_000_000 });
}

const outRows = (d: TopologyTestDriver, topic: string) =>
  rowsOf(
    d
      .output<string, Windowed<number>>(topic, J)
      .readAll()
      .filter((r) => r.key !== 'zz'),
  );

describe('session windows', () => {
  const gap = 5_000;
  const grace = 2_000;

  function sessionTopology(emit?: 'every-update') {
    const b = new TopologyBuilder('sessions');
    const grouped = b.stream<string, { n: number }>('in', J).groupByKey();
    const w = grouped.windowedBy(session(gap, grace));
    w.count({ name: 'visits' }).to('counts', J);
    w.aggregate(
      () => 0,
      (_k, v, sum) => sum + v.n,
      (_k, a, b) => a + b,
      { name: 'sums', ...(emit ? { emit } : {}) },
    ).to('sums', J);
    return b.build('app');
  }

  it.each(['memory', 'leveldb'] as const)(
    'count and aggregate (merging) equal the sessions of the records, each once (%s)',
    async (backend) => {
      const evs = events(7, 600, 5, 2_500, grace);
      const d = await start(sessionTopology(), { backend });
      await pipeAndClose(d, 'in', evs);
      const counts = outRows(d, 'counts');
      expect(counts).toEqual(sessionOracle(evs, gap, false));
      expect(outRows(d, 'sums')).toEqual(sessionOracle(evs, gap, true));
      expect(counts.length).toBeGreaterThan(20); // the data make many sessions
      expect(d.deadLetters()).toEqual([]);
      expect(d.metric('visits', 'window_emits')).toBe(counts.length);
    },
  );

  it('a record between two sessions merges them; one touching a closed session is late', async () => {
    const d = await start(sessionTopology());
    const input = d.input<string, { n: number }>('in', J);
    await input.pipe('a', { n: 1 }, { timestamp: 10_000 });
    await input.pipe('a', { n: 2 }, { timestamp: 16_000 }); // 6 s apart: two sessions
    await input.pipe('a', { n: 4 }, { timestamp: 14_000 }); // within 5 s of both: one
    await input.pipe('b', { n: 0 }, { timestamp: 23_001 }); // 16 000 + 5 000 + 2 000 < 23 001
    expect(d.output('sums', J).readKeyValues()).toEqual([
      ['a', { window_start: 10_000, window_end: 16_000, value: 7 }],
    ]);
    // Its own session would close after 27 000, but it is within the gap of the closed one.
    await input.pipe('a', { n: 8 }, { timestamp: 20_000 });
    const late = d.deadLetters(); // from both aggregations (visits and sums)
    expect(late.map((l) => l.headers[DLQ_HEADERS.reason])).toEqual(['late', 'late']);
    expect(JSON.parse(late[0]!.value!.toString())).toEqual({ n: 8 });
    await input.pipe('a', { n: 16 }, { timestamp: 21_001 }); // more than a gap after: a new session
    await input.pipe('a', { n: 32 }, { timestamp: 26_001 }); // exactly a gap after: the same session
    await input.pipe('b', { n: 0 }, { timestamp: 40_000 });
    expect(d.deadLetters()).toEqual([]);
    expect(d.output('sums', J).readKeyValues()).toEqual([
      ['b', { window_start: 23_001, window_end: 23_001, value: 0 }], // closes first
      ['a', { window_start: 21_001, window_end: 26_001, value: 48 }],
    ]);
    expect(d.metric('sums', 'late_records')).toBe(1);
  });

  it('every-update emits each change, and a null value for each merged-away session; suppressed, it is the final results', async () => {
    const evs = events(11, 400, 4, 2_500, grace);
    const b = new TopologyBuilder('sessions');
    const w = b
      .stream<string, { n: number }>('in', J)
      .groupByKey()
      .windowedBy(session(gap, grace))
      .aggregate(
        () => 0,
        (_k, v, sum) => sum + v.n,
        (_k, a, b) => a + b,
        { name: 'sums', emit: 'every-update' },
      );
    w.to('updates', J);
    w.suppress(untilWindowCloses(), { name: 'finals' }).to('finals', J);
    const d = await start(b.build('app'));
    await pipeAndClose(d, 'in', evs);
    const updates = d.output<string, Windowed<number | null>>('updates', J).readAll();
    expect(updates.length).toBeGreaterThan(evs.length); // one per record, plus the merges
    expect(updates.some((u) => u.value.value === null)).toBe(true);
    expect(outRows(d, 'finals')).toEqual(sessionOracle(evs, gap, true));
  });
});

describe('sliding windows', () => {
  const size = 10_000;
  const grace = 3_000;

  it.each(['memory', 'leveldb'] as const)(
    'count and reduce (max) equal the windows the records define, each once (%s)',
    async (backend) => {
      const evs = events(3, 500, 4, 4_000, grace);
      const b = new TopologyBuilder('sliding');
      const w = b
        .stream<string, { n: number }>('in', J)
        .groupByKey()
        .windowedBy(sliding(size, grace));
      w.count({ name: 'counts' }).to('counts', J);
      w.reduce((a, v) => (v.n > a.n ? v : a), { name: 'max' })
        .mapValues((x) => ({ ...x, value: x.value.n }))
        .to('max', J);
      const d = await start(b.build('app'), { backend });
      await pipeAndClose(d, 'in', evs);
      const counts = outRows(d, 'counts');
      expect(counts).toEqual(slidingOracle(evs, size, (in_) => in_.length));
      expect(outRows(d, 'max')).toEqual(
        slidingOracle(evs, size, (in_) => Math.max(...in_.map((e) => e.n))),
      );
      expect(new Set(counts.map((r) => `${r[0]}:${r[1]}`)).size).toBe(counts.length);
      expect(d.deadLetters()).toEqual([]);
    },
  );

  it('a record that can change no open window is late', async () => {
    const b = new TopologyBuilder('sliding');
    b.stream<string, { n: number }>('in', J)
      .groupByKey()
      .windowedBy(sliding(size, grace))
      .count({ name: 'counts' })
      .to('counts', J);
    const d = await start(b.build('app'));
    const input = d.input<string, { n: number }>('in', J);
    await input.pipe('a', { n: 1 }, { timestamp: 100_000 });
    await input.pipe('a', { n: 1 }, { timestamp: 100_000 + size + grace + 2 });
    await input.pipe('a', { n: 1 }, { timestamp: 100_000 - 1 }); // its right window ended too long ago
    expect(d.deadLetters().map((l) => l.headers[DLQ_HEADERS.reason])).toEqual(['late']);
    expect(d.output('counts', J).readKeyValues()).toEqual([
      ['a', { window_start: 100_000 - size, window_end: 100_000, value: 1 }],
    ]);
  });
});

describe('windowed reduce, emit modes and suppress', () => {
  it('reduce on tumbling and hopping windows: the max of each window, once', async () => {
    const evs = events(5, 300, 3, 3_000, 1_000);
    const b = new TopologyBuilder('reduce');
    const g = b.stream<string, { n: number }>('in', J).groupByKey();
    g.windowedBy(tumbling(60_000, 1_000))
      .reduce((a, v) => (v.n > a.n ? v : a), { name: 'tmax' })
      .mapValues((w) => ({ ...w, value: w.value.n }))
      .to('tumbling', J);
    g.windowedBy(hopping(60_000, 20_000, 1_000))
      .reduce((a, v) => (v.n > a.n ? v : a), { name: 'hmax' })
      .mapValues((w) => ({ ...w, value: w.value.n }))
      .to('hopping', J);
    const d = await start(b.build('app'));
    await pipeAndClose(d, 'in', evs);
    const oracle = (sizeMs: number, advance: number): Row[] => {
      const m = new Map<string, Row>();
      for (const e of evs)
        for (let s = e.ts - (e.ts % advance); s > e.ts - sizeMs; s -= advance) {
          const id = `${e.key}:${s}`;
          const row = m.get(id) ?? [e.key, s, s + sizeMs, -1];
          row[3] = Math.max(row[3], e.n);
          m.set(id, row);
        }
      return sortRows([...m.values()]);
    };
    expect(outRows(d, 'tumbling')).toEqual(oracle(60_000, 60_000));
    expect(outRows(d, 'hopping')).toEqual(oracle(60_000, 20_000));
  });

  it("emit 'every-update' then suppress(untilWindowCloses()) gives what the default ('final') gives", async () => {
    const evs = events(9, 400, 4, 2_000, 2_000);
    const b = new TopologyBuilder('suppress');
    const w = b
      .stream<string, { n: number }>('in', J)
      .groupByKey()
      .windowedBy(tumbling(30_000, 2_000));
    w.count({ name: 'final' }).to('final', J);
    const updates = w.count({ name: 'updates', emit: 'every-update' });
    updates.to('updates', J);
    updates.suppress(untilWindowCloses(), { name: 'suppressed' }).to('suppressed', J);
    const d = await start(b.build('app'));
    await pipeAndClose(d, 'in', evs);
    const finals = outRows(d, 'final');
    expect(outRows(d, 'suppressed')).toEqual(finals);
    expect(
      d
        .output('updates', J)
        .readAll()
        .filter((r) => r.key !== 'zz'),
    ).toHaveLength(evs.length);
    expect(finals.reduce((n, r) => n + r[3], 0)).toBe(evs.length);
  });

  it('suppress(untilTimeLimit) forwards each key at most once per limit, its newest value', async () => {
    const b = new TopologyBuilder('limit');
    b.stream<string, { n: number }>('in', J)
      .groupByKey()
      .count({ name: 'counts' })
      .suppress(untilTimeLimit(10_000), { name: 'limited' })
      .to('limited', J);
    const d = await start(b.build('app'));
    const input = d.input<string, { n: number }>('in', J);
    const r = rng(21);
    const seen = new Map<string, number>();
    /** What it should forward: a key's newest count once stream time reaches its first held update + 10 s. */
    const held = new Map<string, { at: number; value: number }>();
    const expected: Array<[string, number]> = [];
    let t = 0;
    for (let i = 0; i < 500; i++) {
      t += Math.floor(r() * 1_000);
      const key = `k${Math.floor(r() * 6)}`;
      const count = (seen.get(key) ?? 0) + 1;
      seen.set(key, count);
      held.set(key, { at: held.get(key)?.at ?? t + 10_000, value: count });
      await input.pipe(key, { n: 1 }, { timestamp: t });
      const due = [...held].filter(([, h]) => h.at <= t).sort((a, b) => a[1].at - b[1].at);
      for (const [k, h] of due) {
        expected.push([k, h.value]);
        held.delete(k);
      }
    }
    const got = d.output<string, number>('limited', J).readKeyValues();
    expect(new Set(got.map(([k, v]) => `${k}=${v}`))).toEqual(
      new Set(expected.map(([k, v]) => `${k}=${v}`)),
    );
    expect(got.length).toBe(expected.length);
    expect(got.length).toBeLessThan(500 / 3); // far fewer than the 500 updates
  });

  it('suppress(untilTimeLimit) on a table: each key’s newest row at most once per limit, deletes included', async () => {
    const b = new TopologyBuilder('table-limit');
    b.table<string, number>('prices', J, { name: 'prices' })
      .suppress(untilTimeLimit(10_000), { name: 'limited' })
      .to('limited', J);
    const d = await start(b.build('app'));
    const prices = d.input<string, number>('prices', J);
    await prices.pipe('a', 1, { timestamp: 0 });
    await prices.pipe('a', 2, { timestamp: 5_000 });
    await prices.pipe('b', 7, { timestamp: 6_000 });
    await prices.pipe('a', null, { timestamp: 9_000 }); // deleted before its limit passed
    await prices.pipe('b', 8, { timestamp: 12_000 }); // a's limit passed: a's newest is the delete
    await prices.pipe('c', 1, { timestamp: 30_000 }); // b's limit passed
    expect(d.output('limited', J).readKeyValues()).toEqual([
      ['a', null],
      ['b', 8],
    ]);
  });

  it('a suppressed window-close buffer is a changelogged store', async () => {
    const b = new TopologyBuilder('buffer');
    b.stream<string, { n: number }>('in', J)
      .groupByKey()
      .windowedBy(tumbling(10_000))
      .count({ name: 'c', emit: 'every-update' })
      .suppress(untilWindowCloses(), { name: 's', store: 'held' })
      .to('out', J);
    const t = b.build('app');
    expect(t.internalTopics().map((i) => i.name)).toEqual(['c-store-changelog', 'held-changelog']);
    const d = await start(t);
    await d.input('in', J).pipe('a', { n: 1 }, { timestamp: 5 });
    expect(await d.commit()).toEqual(
      new Map([
        ['c-store', 1],
        ['held', 1],
      ]),
    );
    expect(d.output('out', J).isEmpty()).toBe(true);
  });
});

describe('close on idle', () => {
  it.each([
    [
      'tumbling',
      (b: TopologyBuilder) =>
        b
          .stream<string, { n: number }>('in', J)
          .groupByKey()
          .windowedBy(tumbling(60_000, 5_000))
          .count({ name: 'w', idleCloseMs: 30_000 }),
    ],
    [
      'session',
      (b: TopologyBuilder) =>
        b
          .stream<string, { n: number }>('in', J)
          .groupByKey()
          .windowedBy(session(20_000, 5_000))
          .count({ name: 'w', idleCloseMs: 30_000 }),
    ],
    [
      'sliding',
      (b: TopologyBuilder) =>
        b
          .stream<string, { n: number }>('in', J)
          .groupByKey()
          .windowedBy(sliding(20_000, 5_000))
          .count({ name: 'w', idleCloseMs: 30_000 }),
    ],
  ] as const)(
    '%s: with no input for idleCloseMs of wall clock the windows close; a record for one is late then',
    async (_kind, make) => {
      const b = new TopologyBuilder('idle');
      make(b).to('out', J);
      const d = await start(b.build('app'));
      const input = d.input<string, { n: number }>('in', J);
      await input.pipe('a', { n: 1 }, { timestamp: 120_000 });
      await input.pipe('a', { n: 1 }, { timestamp: 121_000 });
      await d.advanceWallClock(29_000);
      expect(d.output('out', J).isEmpty()).toBe(true); // not idle long enough
      await d.advanceWallClock(120_000);
      const out = d.output<string, Windowed<number>>('out', J).readAll();
      expect(out.length).toBeGreaterThan(0);
      expect(out.map((r) => r.key)).toEqual(out.map(() => 'a'));
      expect(Math.max(...out.map((r) => r.value.value))).toBe(2);
      await input.pipe('a', { n: 1 }, { timestamp: 121_500 }); // on time by stream time, late now
      expect(d.deadLetters().map((l) => l.headers[DLQ_HEADERS.reason])).toEqual(['late']);
      expect(d.output('out', J).isEmpty()).toBe(true);
    },
  );

  it('without idleCloseMs the windows wait for a later record, however long the pause', async () => {
    const b = new TopologyBuilder('no-idle');
    b.stream<string, { n: number }>('in', J)
      .groupByKey()
      .windowedBy(tumbling(60_000))
      .count({ name: 'w' })
      .to('out', J);
    const d = await start(b.build('app'));
    await d.input('in', J).pipe('a', { n: 1 }, { timestamp: 1_000 });
    await d.advanceWallClock(3_600_000);
    expect(d.output('out', J).isEmpty()).toBe(true);
  });
});
