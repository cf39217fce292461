/**
 * Session windows, sliding windows (reduce) and a suppressed every-update tumbling window
 * on the Kafka runtime (real broker, exactly-once), across a restart that rebuilds their
 * state from the changelogs: the first half of the records is processed, the instance
 * stops, its state directory is removed, and a new instance processes the rest. Sessions
 * and windows that span the restart need the restored state; every result must equal what
 * the test computes from the records, each window exactly once. Then close on idle: a
 * window closes with no later record, and after a restart without local state, a record
 * for it is late (the closed window's marker came back from the changelog).
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import '../../processors/index.js';
import { StreamsApp } from '../../runtime/app.js';
import { DLQ_HEADERS } from '../../runtime/task/dead-letter.js';
import {
  session,
  sliding,
  TopologyBuilder,
  tumbling,
  untilWindowCloses,
  type BuiltTopology,
  type Windowed,
} from '../../topology/index.js';
import {
  createTopics,
  produce,
  readUntil,
  recordsIn,
  type ReadRecord,
} from '../support/kafka-helpers.js';
import { useKafkaRun } from '../support/kafka-run.js';
import { acrossRestart, caughtUp, eosConfig } from '../support/restarts.js';

const { run, kafka, dir: stateRoot } = useKafkaRun('it-win', 'millrace-windows-');

const J = { key: 'string', value: 'json' } as const;
const PARTITIONS = 4;
const T0 = 1_700_000_000_000;
const GAP = 5_000;
const SIZE = 10_000;
const GRACE = 2_000;

interface Ev {
  key: string;
  ts: number;
  n: number;
}

/** Records of 12 users, time rising 0-1.5 s a record, out of order by up to the grace. */
function events(count: number): Ev[] {
  let seed = 42;
  const r = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  let t = T0;
  const made = Array.from({ length: count }, () => {
    t += Math.floor(r() * 1_500);
    return { key: `u${Math.floor(r() * 12)}`, ts: t, n: 1 + Math.floor(r() * 9) };
  });
  return made
    .map((e) => ({ e, at: e.ts + Math.floor(r() * GRACE) }))
    .sort((a, b) => a.at - b.at)
    .map((x) => x.e);
}

/** Each user's records go to one partition (chosen here, so the test knows the order per partition). */
const partitionOf = (key: string) => Number(key.slice(1)) % PARTITIONS;
const toMessages = (evs: Ev[]) =>
  evs.map((e) => ({
    key: e.key,
    value: JSON.stringify({ n: e.n }),
    timestamp: e.ts,
    partition: partitionOf(e.key),
  }));

type Row = string; // `key start end value`
const sortRows = (rows: Row[]) => rows.sort();

function sessionOracle(evs: Ev[]): Row[] {
  const rows: Row[] = [];
  for (const key of new Set(evs.map((e) => e.key))) {
    const times = evs
      .filter((e) => e.key === key)
      .map((e) => e.ts)
      .sort((a, b) => a - b);
    let [start, end, n] = [times[0]!, times[0]!, 0];
    for (const t of times) {
      if (t - end > GAP) {
        rows.push(`${key} ${start} ${end} ${n}`);
        [start, n] = [t, 0];
      }
      end = t;
      n++;
    }
    rows.push(`${key} ${start} ${end} ${n}`);
  }
  return sortRows(rows);
}

function slidingOracle(evs: Ev[]): Row[] {
  const rows: Row[] = [];
  for (const key of new Set(evs.map((e) => e.key))) {
    const mine = evs.filter((e) => e.key === key);
    const times = [...new Set(mine.map((e) => e.ts))];
    const starts = new Set<number>();
    for (const t of times) {
      starts.add(t - SIZE);
      if (times.some((u) => u > t && u <= t + SIZE + 1)) starts.add(t + 1);
    }
    for (const s of starts) {
      const held = mine.filter((e) => e.ts >= s && e.ts <= s + SIZE);
      rows.push(`${key} ${s} ${s + SIZE} ${Math.max(...held.map((e) => e.n))}`);
    }
  }
  return sortRows(rows);
}

function minuteOracle(evs: Ev[]): Row[] {
  const sums = new Map<string, number>();
  for (const e of evs) {
    const start = e.ts - (e.ts % 60_000);
    const id = `${e.key} ${start} ${start + 60_000}`;
    sums.set(id, (sums.get(id) ?? 0) + e.n);
  }
  return sortRows([...sums].map(([id, n]) => `${id} ${n}`));
}

function topology(app: string): BuiltTopology {
  const b = new TopologyBuilder('windows');
  const users = b.stream<string, { n: number }>(`${app}-in`, J, 'in').groupByKey();
  users.windowedBy(session(GAP, GRACE)).count({ name: 'visits' }).to(`${app}-sessions`, J);
  users
    .windowedBy(sliding(SIZE, GRACE))
    .reduce((a, v) => (v.n > a.n ? v : a), { name: 'peak' })
    .mapValues((w) => ({ ...w, value: w.value.n }))
    .to(`${app}-sliding`, J);
  users
    .windowedBy(tumbling(60_000, GRACE))
    .aggregate(
      () => 0,
      (_k, v, sum) => sum + v.n,
      { name: 'minute', emit: 'every-update' },
    )
    .suppress(untilWindowCloses(), { name: 'final-minute' })
    .to(`${app}-minutes`, J);
  return b.build(app);
}

const rowsOf = (records: ReadRecord[]): Row[] =>
  sortRows(
    records
      .filter((r) => !r.key!.startsWith('flush'))
      .map((r) => {
        const w = JSON.parse(r.value!) as Windowed<number>;
        return `${r.key} ${w.window_start} ${w.window_end} ${w.value}`;
      }),
  );

/**
 * The rows of `topic` once `expected` of them were read, or what was read in 90 s (the
 * comparison then shows which are missing, instead of a timeout).
 */
async function readRows(topic: string, expected: number): Promise<Row[]> {
  let got: ReadRecord[] = [];
  await readUntil(
    kafka,
    topic,
    (rs) => {
      got = rs;
      return rowsOf(rs).length >= expected;
    },
    90_000,
  ).catch(() => {});
  return rowsOf(got);
}

describe('windows on the runtime', () => {
  it('sessions, sliding windows and a suppressed tumbling window equal the records’ windows, each once, across a restart that restores their state', async () => {
    const app = `${run}-all`;
    const outs = ['sessions', 'sliding', 'minutes'].map((o) => `${app}-${o}`);
    await createTopics(kafka, [
      { topic: `${app}-in`, partitions: PARTITIONS },
      ...outs.map((topic) => ({ topic, partitions: PARTITIONS })),
    ]);
    const evs = events(2_400);
    const half = 1_200;
    const last = Math.max(...evs.map((e) => e.ts));
    const flush = Array.from({ length: PARTITIONS }, (_, p) => ({
      key: `flush-${p}`,
      value: JSON.stringify({ n: 0 }),
      timestamp: last + 3_600_000,
      partition: p,
    }));
    await produce(kafka, `${app}-in`, toMessages(evs.slice(0, half)));
    const secondHalf = () =>
      produce(kafka, `${app}-in`, [...toMessages(evs.slice(half)), ...flush]);
    const afterRestart = async (streams: StreamsApp) => {
      await caughtUp(streams);
      expect(await recordsIn(kafka, `${app}-dlq`)).toBe(0); // nothing was late
      const [sessions, windows, minutes] = [
        sessionOracle(evs),
        slidingOracle(evs),
        minuteOracle(evs),
      ];
      expect(await readRows(outs[0]!, sessions.length)).toEqual(sessions);
      expect(await readRows(outs[1]!, windows.length)).toEqual(windows);
      expect(await readRows(outs[2]!, minutes.length)).toEqual(minutes);
      expect(sessions.length).toBeGreaterThan(50);
    };
    await acrossRestart(
      () => topology(app),
      eosConfig(app, path.join(stateRoot, 'all')),
      (streams) => caughtUp(streams),
      afterRestart,
      secondHalf,
    );
  });

  it('close on idle: a window closes with no later record; after a restart without local state, a record for it is late', async () => {
    const app = `${run}-idle`;
    await createTopics(kafka, [
      { topic: `${app}-in`, partitions: 1 },
      { topic: `${app}-out`, partitions: 1 },
    ]);
    const b = new TopologyBuilder('idle');
    b.stream<string, { n: number }>(`${app}-in`, J)
      .groupByKey()
      .windowedBy(tumbling(60_000, 5_000))
      .count({ name: 'per-minute', idleCloseMs: 2_000 })
      .to(`${app}-out`, J);
    const msg = (ts: number) => ({ key: 'a', value: JSON.stringify({ n: 1 }), timestamp: ts });
    await produce(kafka, `${app}-in`, [msg(T0 + 10_000), msg(T0 + 20_000)]);
    const windowStart = T0 + 10_000 - ((T0 + 10_000) % 60_000);
    await acrossRestart(
      () => b.build(app),
      eosConfig(app, path.join(stateRoot, 'idle')),
      async (streams) => {
        // No record after these: only idleness can close the window.
        const out = await readUntil(kafka, `${app}-out`, (rs) => rs.length >= 1, 60_000);
        expect(out.map((r) => JSON.parse(r.value!))).toEqual([
          { window_start: windowStart, window_end: windowStart + 60_000, value: 2 },
        ]);
        await caughtUp(streams);
      },
      async (streams) => {
        // On time by the task's stream time (T0 + 20 000), but its window was closed.
        await produce(kafka, `${app}-in`, [msg(T0 + 30_000)]);
        const dlq = await readUntil(kafka, `${app}-dlq`, (rs) => rs.length >= 1, 60_000);
        expect(dlq.map((r) => r.headers[DLQ_HEADERS.reason])).toEqual(['late']);
        await caughtUp(streams);
        const out = await readUntil(kafka, `${app}-out`, (rs) => rs.length >= 1, 30_000);
        expect(out).toHaveLength(1);
      },
    );
  });
});
