/**
 * Joins on the Kafka runtime (real broker, exactly-once), each across a restart that
 * rebuilds its state from the changelogs (state directory removed between the halves):
 * a stream-stream outer join whose pairs and unmatched records equal what the test
 * computes, each once (pairs span the restart: the window stores came back); and a
 * table-table left join whose final rows equal the join of the tables' final contents.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import '../../processors/index.js';
import { joinWindows, TopologyBuilder } from '../../topology/index.js';
import {
  createTopics,
  produce,
  readUntil,
  recordsIn,
  type ReadRecord,
} from '../support/kafka-helpers.js';
import { useKafkaRun } from '../support/kafka-run.js';
import { acrossRestart, caughtUp, eosConfig } from '../support/restarts.js';

const { run, kafka, dir: stateRoot } = useKafkaRun('it-join2', 'millrace-joins-');

const J = { key: 'string', value: 'json' } as const;
const PARTITIONS = 4;
const T0 = 1_700_000_000_000;
const [BEFORE, AFTER, GRACE] = [3_000, 5_000, 2_000];
/**
 * The join's grace spans the whole data set: a task reads its two topics' partitions in
 * the order it fetches them, not by timestamp (see docs), so one side's batch can move
 * stream time far past the other's records. With this grace none is late, whatever the order.
 */
const JOIN_GRACE = 3_600_000;
const partitionOf = (key: string) => Number(key.slice(1)) % PARTITIONS;

interface Ev {
  side: 'L' | 'R';
  key: string;
  ts: number;
  id: string;
}

function events(count: number): Ev[] {
  let seed = 7;
  const r = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  let t = T0;
  const made = Array.from({ length: count }, (_, i): Ev => {
    t += Math.floor(r() * 1_200);
    const side = r() < 0.5 ? 'L' : 'R';
    return { side, key: `k${Math.floor(r() * 8)}`, ts: t, id: `${side}${i}` };
  });
  return made
    .map((e) => ({ e, at: e.ts + Math.floor(r() * GRACE) }))
    .sort((a, b) => a.at - b.at)
    .map((x) => x.e);
}

function outerOracle(evs: Ev[]): string[] {
  const out: string[] = [];
  const matched = new Set<string>();
  for (const l of evs.filter((e) => e.side === 'L'))
    for (const r of evs.filter((e) => e.side === 'R' && e.key === l.key))
      if (r.ts >= l.ts - BEFORE && r.ts <= l.ts + AFTER) {
        out.push(`${l.key} ${l.id}+${r.id}`);
        matched.add(l.id).add(r.id);
      }
  for (const e of evs)
    if (!matched.has(e.id))
      out.push(e.side === 'L' ? `${e.key} ${e.id}+null` : `${e.key} null+${e.id}`);
  return out.sort();
}

describe('joins on the runtime', () => {
  it('stream-stream outer join: every pair once, every unmatched record once, across a restart', async () => {
    const app = `${run}-ss`;
    const [left, right, out] = [`${app}-left`, `${app}-right`, `${app}-out`];
    await createTopics(
      kafka,
      [left, right, out].map((topic) => ({ topic, partitions: PARTITIONS })),
    );
    const topology = () => {
      const b = new TopologyBuilder('ss');
      const r = b.stream<string, { id: string }>(right, J, 'right');
      b.stream<string, { id: string }>(left, J, 'left')
        .outerJoin(
          r,
          (l, x) => `${l?.id ?? null}+${x?.id ?? null}`,
          joinWindows({ beforeMs: BEFORE, afterMs: AFTER }, JOIN_GRACE),
          { name: 'lr' },
        )
        .to(out, J);
      return b.build(app);
    };
    const evs = events(1_600);
    const send = async (part: Ev[]) => {
      await Promise.all(
        (['L', 'R'] as const).map((side) =>
          produce(
            kafka,
            side === 'L' ? left : right,
            part
              .filter((e) => e.side === side)
              .map((e) => ({
                key: e.key,
                value: JSON.stringify({ id: e.id }),
                timestamp: e.ts,
                partition: partitionOf(e.key),
              })),
          ),
        ),
      );
    };
    const expected = outerOracle(evs);
    const last = Math.max(...evs.map((e) => e.ts));
    const flush = Array.from({ length: PARTITIONS }, (_, p) => ({
      key: `flush${p}`,
      value: JSON.stringify({ id: 'flush' }),
      timestamp: last + 2 * JOIN_GRACE,
      partition: p,
    }));
    await send(evs.slice(0, 800));
    await acrossRestart(
      topology,
      eosConfig(app, path.join(stateRoot, app)),
      (streams) => caughtUp(streams),
      async (streams) => {
        await send(evs.slice(800));
        // Only once both topics are read: a task reads its partitions in the order it fetches
        // them, so a flush record fetched before the other topic's records would make them late.
        await caughtUp(streams);
        await produce(kafka, left, flush);
        await caughtUp(streams);
        const rows = (rs: ReadRecord[]) =>
          rs
            .filter((x) => !x.key!.startsWith('flush'))
            .map((x) => `${x.key} ${JSON.parse(x.value!)}`);
        const got = await readUntil(kafka, out, (rs) => rows(rs).length >= expected.length, 90_000);
        expect(rows(got).sort()).toEqual(expected);
        expect(await recordsIn(kafka, `${app}-dlq`)).toBe(0); // nothing was late
      },
    );
  });

  it('table-table left join: the final rows equal the join of the final tables, across a restart', async () => {
    const app = `${run}-tt`;
    const [users, scores, out] = [`${app}-users`, `${app}-scores`, `${app}-out`];
    await createTopics(
      kafka,
      [users, scores, out].map((topic) => ({ topic, partitions: PARTITIONS })),
    );
    const topology = () => {
      const b = new TopologyBuilder('tt');
      const s = b.table<string, number>(scores, J, { name: 'scores' });
      b.table<string, number>(users, J, { name: 'users' })
        .leftJoin(s, (u, sc) => `${u}/${sc}`, 'us')
        .toStream()
        .to(out, J);
      return b.build(app);
    };
    let seed = 3;
    const r = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    const changes = Array.from({ length: 1_200 }, (_, i) => ({
      topic: r() < 0.5 ? users : scores,
      key: `u${Math.floor(r() * 40)}`,
      value: r() < 0.2 ? null : i,
    }));
    const final = { [users]: new Map<string, number>(), [scores]: new Map<string, number>() };
    for (const c of changes)
      if (c.value === null) final[c.topic]!.delete(c.key);
      else final[c.topic]!.set(c.key, c.value);
    const expected = new Map<string, string | null>();
    for (const k of new Set(changes.map((c) => c.key)))
      if (final[users]!.has(k))
        expected.set(k, `${final[users]!.get(k)}/${final[scores]!.get(k) ?? null}`);
    const send = async (part: typeof changes) => {
      for (const topic of [users, scores])
        await produce(
          kafka,
          topic,
          part
            .filter((c) => c.topic === topic)
            .map((c) => ({
              key: c.key,
              value: c.value === null ? null : JSON.stringify(c.value),
              partition: partitionOf(c.key),
            })),
        );
    };
    await send(changes.slice(0, 600));
    await acrossRestart(
      topology,
      eosConfig(app, path.join(stateRoot, app)),
      (streams) => caughtUp(streams),
      async (streams) => {
        await send(changes.slice(600));
        await caughtUp(streams);
        const lastRows = (rs: ReadRecord[]) => {
          const m = new Map<string, string | null>();
          for (const x of [...rs].sort((a, b) => a.partition - b.partition || a.offset - b.offset))
            m.set(x.key!, x.value === null ? null : (JSON.parse(x.value) as string));
          for (const [k, v] of m) if (v === null) m.delete(k);
          return m;
        };
        const got = await readUntil(
          kafka,
          out,
          (rs) => {
            const m = lastRows(rs);
            return m.size === expected.size && [...expected].every(([k, v]) => m.get(k) === v);
          },
          90_000,
        );
        expect(lastRows(got)).toEqual(expected);
      },
    );
  });
});
