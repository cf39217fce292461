/**
 * Standby replicas on the real broker: two instances of a count-by-key topology with
 * numStandbyReplicas 1. Each keeps a copy of the other's tasks, read from the changelogs
 * (read_committed), equal to the counts of the input; when one instance leaves, the other
 * takes its tasks from those copies and restores only the changelog's tail (here nothing),
 * and the counts stay exact as more input comes. Interactive queries answer from a standby
 * only when asked for stale data and the owner cannot answer.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import '../../processors/index.js';
import { createKafka } from '../../connectors/kafka/client.js';
import { StreamsApp } from '../../runtime/app.js';
import { partitionForKey } from '../../runtime/query/partitioner.js';
import { QueryClient, serveQueries, type QueryServer } from '../../runtime/query/index.js';
import type { ReadOnlyKeyValueStore } from '../../state/api.js';
import { TopologyBuilder } from '../../topology/index.js';
import { createTopics, deleteTopicsWithPrefix, produce } from '../support/kafka-helpers.js';

const run = `it-standby-${randomUUID().slice(0, 8)}`;
const input = `${run}-in`;
const PARTITIONS = 4;
let kafka: Kafka;
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'millrace-standby-'));
const apps: StreamsApp[] = [];
const servers: QueryServer[] = [];

beforeAll(async () => {
  kafka = createKafka({ brokers: inject('kafkaBrokers'), clientId: run });
  await createTopics(kafka, [
    { topic: input, partitions: PARTITIONS },
    { topic: `${run}-out`, partitions: PARTITIONS },
  ]);
});
afterAll(async () => {
  for (const a of apps) await a.close().catch(() => {});
  for (const s of servers) await s.close();
  await deleteTopicsWithPrefix(kafka, run);
  fs.rmSync(root, { recursive: true, force: true });
});

function topology() {
  const b = new TopologyBuilder();
  b.stream(input, { key: 'string', value: 'string' })
    .groupByKey({ keySerde: 'string', valueSerde: 'string' })
    .count({ name: 'counts' })
    .to(`${run}-out`, { key: 'string', value: 'json' });
  return b.build();
}

/** An instance, serving interactive queries on a free port (advertised to the group). */
async function instance(name: string): Promise<{ app: StreamsApp; queries: QueryServer }> {
  const app = new StreamsApp(topology(), {
    applicationId: run,
    bootstrapServers: inject('kafkaBrokers'),
    processingGuarantee: 'exactly_once',
    stateDir: path.join(root, name),
    numStandbyReplicas: 1,
    sessionTimeout: '6s',
    heartbeatInterval: '500ms',
  });
  apps.push(app);
  const queries = await serveQueries(app);
  servers.push(queries);
  return { app, queries };
}

const expected = new Map<string, number>();
async function feed(from: number, n: number): Promise<void> {
  const records = Array.from({ length: n }, (_, i) => ({
    key: `user-${((from + i) * 31) % 53}`,
    value: `e${from + i}`,
  }));
  await produce(kafka, input, records);
  for (const r of records) expected.set(r.key, (expected.get(r.key) ?? 0) + 1);
}

const keysOf = (partition: number) =>
  [...expected.keys()].filter((k) => partitionForKey(Buffer.from(k), PARTITIONS) === partition);

/** The counts a task's store holds for the keys of its partition. */
function countsIn(store: unknown, partition: number): Map<string, number | undefined> {
  const kv = store as ReadOnlyKeyValueStore<string, number>;
  return new Map(keysOf(partition).map((k) => [k, kv.get(k)]));
}
const expectedIn = (partition: number) =>
  new Map(keysOf(partition).map((k) => [k, expected.get(k)]));

async function until(what: string, ok: () => boolean, timeoutMs = 60_000): Promise<void> {
  for (const end = Date.now() + timeoutMs; !ok();) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const activeCounts = (app: StreamsApp, partition: number) => {
  const t = [...app.tasks.values()].find((x) => x.partition === partition && x.state === 'running');
  return t ? countsIn(t.engine.stores[0]!.store, partition) : undefined;
};

describe('standby replicas', () => {
  it('each instance keeps a caught-up copy of the other’s tasks; the survivor takes them over restoring only the tail', async () => {
    await feed(0, 3000);
    const { app: a, queries: aq } = await instance('a');
    const { app: b, queries: bq } = await instance('b');
    await a.start();
    await b.start();
    const all = [a, b];
    const runningTasks = () =>
      all.flatMap((x) => [...x.tasks.values()]).filter((t) => t.state === 'running');
    await until('both instances running two tasks each', () =>
      all.every((x) => x.state === 'running' && x.tasks.size === PARTITIONS / 2),
    );
    await until('the counts of every partition in its active task', () =>
      Array.from({ length: PARTITIONS }, (_, p) => p).every((p) => {
        const owner = all.find((x) => activeCounts(x, p));
        return (
          owner &&
          JSON.stringify([...activeCounts(owner, p)!]) === JSON.stringify([...expectedIn(p)])
        );
      }),
    );
    expect(runningTasks().length).toBe(PARTITIONS);
    // Each instance's standbys are the other's active tasks, and hold the same counts once
    // the commits are read (read_committed).
    for (const [self, other] of [
      [a, b],
      [b, a],
    ] as const) {
      await until('standbys of the other instance’s tasks', () =>
        [...other.tasks.keys()].every((id) => self.group!.standbyTasks.has(id)),
      );
      expect([...self.group!.standbyTasks.keys()].sort()).toEqual([...other.tasks.keys()].sort());
      await until('standby copies equal to the counts', () =>
        [...self.group!.standbyTasks.values()].every(
          (s) =>
            JSON.stringify([...countsIn(s.engine.stores[0]!.store, s.partition)]) ===
            JSON.stringify([...expectedIn(s.partition)]),
        ),
      );
      for (const s of self.group!.standbyTasks.values()) expect(s.lag).toBe(0);
    }

    // Interactive queries read a standby only when stale data is asked for and the owner
    // cannot answer: a's server stops; b refuses (retriable) unless asked for stale data.
    const key = keysOf([...a.tasks.values()][0]!.partition)[0]!;
    const viaB = new QueryClient({ endpoints: [bq.endpoint], retryForMs: 0 });
    expect(await viaB.get('counts-store', key)).toMatchObject({
      value: expected.get(key),
      stale: false,
      servedBy: { endpoint: aq.endpoint, role: 'active' },
    });
    await aq.close();
    await expect(viaB.get('counts-store', key)).rejects.toMatchObject({
      code: 'OWNER_UNREACHABLE',
      retriable: true,
    });
    expect(await viaB.get('counts-store', key, { stale: true })).toMatchObject({
      value: expected.get(key),
      stale: true,
      servedBy: { endpoint: bq.endpoint, role: 'standby', lag: 0 },
    });

    // a leaves: b takes a's tasks from its standbys: nothing (or a few markers) to restore.
    const moved = [...a.tasks.keys()];
    await a.close();
    await until(
      'b running every task',
      () =>
        b.tasks.size === PARTITIONS && [...b.tasks.values()].every((t) => t.state === 'running'),
    );
    for (const id of moved) expect(b.tasks.get(id)!.stats.restored, id).toBe(0);
    expect(b.group!.standbyTasks.size).toBe(0); // no other instance to copy
    await feed(3000, 1000);
    await until('b’s counts of all input', () =>
      Array.from({ length: PARTITIONS }, (_, p) => p).every(
        (p) => JSON.stringify([...activeCounts(b, p)!]) === JSON.stringify([...expectedIn(p)]),
      ),
    );

    // a comes back on its state: it takes tasks again, b keeps copies of them and vice versa.
    const { app: a2 } = await instance('a');
    await a2.start();
    all.splice(0, 1, a2);
    await until('two running instances with standbys again', () =>
      all.every(
        (x) =>
          x.state === 'running' &&
          x.tasks.size === PARTITIONS / 2 &&
          x.group!.standbyTasks.size === PARTITIONS / 2,
      ),
    );
    await feed(4000, 1000);
    await until('counts of all input in the active tasks', () =>
      Array.from({ length: PARTITIONS }, (_, p) => p).every((p) => {
        const owner = all.find((x) => activeCounts(x, p));
        return (
          owner &&
          JSON.stringify([...activeCounts(owner, p)!]) === JSON.stringify([...expectedIn(p)])
        );
      }),
    );
  }, 240_000);
});
