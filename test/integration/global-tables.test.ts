/**
 * Global tables on the Kafka runtime (real broker): two instances in one group each read
 * every partition of the products topic (3 partitions; the orders topic has 4, and is
 * keyed by order, not by product), so every order joins whichever instance processes it;
 * an update to a product while they run reaches later orders; no changelog topic exists
 * for the global store; and an instance started again with its state directory removed
 * reads the table back from its topic, then joins as before. Each instance answers interactive
 * queries of the global store from its own whole copy.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Kafka } from 'kafkajs';
import { describe, expect, inject, it } from 'vitest';
import '../../processors/index.js';
import { StreamsApp } from '../../runtime/app.js';
import { serveQueries } from '../../runtime/query/http.js';
import { TopologyBuilder } from '../../topology/index.js';
import { createTopics, produce, readUntil, type ReadRecord } from '../support/kafka-helpers.js';
import { useKafkaRun } from '../support/kafka-run.js';

const { run, kafka, dir: stateRoot } = useKafkaRun('it-global', 'millrace-global-');

const J = { key: 'string', value: 'json' } as const;

interface Order {
  sku: string;
  n: number;
}

function topology(app: string) {
  const b = new TopologyBuilder('global');
  const products = b.globalTable<string, { name: string }>(`${app}-products`, J, {
    name: 'products',
  });
  b.stream<string, Order>(`${app}-orders`, J, 'orders')
    .leftJoin(
      products,
      (_id, o) => o.sku,
      (o, p) => `${o.n} x ${p?.name ?? '?'}`,
      'with-product',
    )
    .to(`${app}-out`, J);
  return b.build(app);
}

const orders = (from: number, n: number) =>
  Array.from({ length: n }, (_, i) => ({
    key: `o${from + i}`,
    value: JSON.stringify({ sku: `p${(from + i) % 60}`, n: from + i }),
  }));

const ask = async (base: string, what: string): Promise<unknown> => {
  const res = await fetch(`${base}${what}`, { signal: AbortSignal.timeout(10_000) });
  const body = await res.text();
  if (res.status !== 200) throw new Error(`${what}: ${res.status} ${body}`);
  return JSON.parse(body);
};

const valuesByKey = (rs: ReadRecord[]) =>
  new Map(
    rs
      .filter((r) => !r.key!.startsWith('probe'))
      .map((r) => [r.key!, JSON.parse(r.value!) as string]),
  );

/**
 * Waits until a probe order for `sku` on every partition of the orders topic joins with
 * `name`: a global table is updated by its own reader, not in step with the stream.
 */
async function seenEverywhere(kafka: Kafka, app: string, sku: string, name: string) {
  for (let round = 0; round < 30; round++) {
    const keys = [0, 1, 2, 3].map((p) => `probe-${round}-${p}`);
    await produce(
      kafka,
      `${app}-orders`,
      keys.map((key, p) => ({ key, value: JSON.stringify({ sku, n: 0 }), partition: p })),
    );
    const got = await readUntil(
      kafka,
      `${app}-out`,
      (rs) => keys.every((k) => rs.some((r) => r.key === k)),
      60_000,
    );
    if (
      got.filter((r) => keys.includes(r.key!)).every((r) => JSON.parse(r.value!) === `0 x ${name}`)
    )
      return;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`the global table update of ${sku} did not reach every task`);
}

describe('global tables on the runtime', () => {
  it('every instance holds the whole table, kept up to date; restored from its topic without a changelog', async () => {
    const app = `${run}-a`;
    await createTopics(kafka, [
      { topic: `${app}-products`, partitions: 3 },
      { topic: `${app}-orders`, partitions: 4 },
      { topic: `${app}-out`, partitions: 4 },
    ]);
    const name = (p: number, v: number) => `product-${p}-v${v}`;
    await produce(
      kafka,
      `${app}-products`,
      Array.from({ length: 50 }, (_, p) => ({
        key: `p${p}`,
        value: JSON.stringify({ name: name(p, 1) }),
      })),
    );
    const config = (i: string) => ({
      applicationId: app,
      bootstrapServers: inject('kafkaBrokers'),
      processingGuarantee: 'exactly_once' as const,
      stateDir: path.join(stateRoot, i),
      commitInterval: 200,
    });
    const a = new StreamsApp(topology(app), config('a'));
    const b = new StreamsApp(topology(app), config('b'));
    const servers = [await serveQueries(a), await serveQueries(b)];
    await Promise.all([a.start(), b.start()]);
    const expected = new Map<string, string>();
    const expect1 = (from: number, n: number, version: (p: number) => number) => {
      for (let i = from; i < from + n; i++) {
        const p = i % 60; // p50..p59 are not in the table
        expected.set(`o${i}`, `${i} x ${p < 50 ? name(p, version(p)) : '?'}`);
      }
    };
    try {
      await produce(kafka, `${app}-orders`, orders(0, 400));
      expect1(0, 400, () => 1);
      let got = await readUntil(kafka, `${app}-out`, (rs) => rs.length >= 400, 90_000);
      expect(valuesByKey(got)).toEqual(expected);
      const tasks = [a, b].map((s) => s.tasks.size);
      expect(tasks.reduce((x, y) => x + y, 0)).toBe(4);
      expect(Math.min(...tasks)).toBeGreaterThan(0); // both did part of the work

      // Updated while running: later orders see the new names on both instances.
      await produce(
        kafka,
        `${app}-products`,
        Array.from({ length: 25 }, (_, p) => ({
          key: `p${p * 2}`,
          value: JSON.stringify({ name: name(p * 2, 2) }),
        })),
      );
      await seenEverywhere(kafka, app, 'p48', name(48, 2));
      // Interactive queries: each instance answers from its own whole copy of the table.
      for (const q of servers) {
        const group = (await ask(q.url, '/stores')) as {
          stores: Array<{ name: string; global?: boolean }>;
        };
        expect(group.stores.find((x) => x.name === 'products-store')?.global).toBe(true);
        const p48 = (await ask(q.url, '/stores/products-store/get?key=p48')) as {
          value: { name: string };
          servedBy: { task: string; endpoint: string };
        };
        expect(p48.value).toEqual({ name: name(48, 2) });
        expect(p48.servedBy).toMatchObject({ task: 'global', endpoint: q.endpoint });
        const all = (await ask(q.url, '/stores/products-store/all?limit=100')) as {
          results: Array<{ key: string }>;
        };
        expect(all.results).toHaveLength(50);
      }
      await produce(kafka, `${app}-orders`, orders(400, 400));
      expect1(400, 400, (p) => (p % 2 === 0 ? 2 : 1));
      got = await readUntil(kafka, `${app}-out`, (rs) => valuesByKey(rs).size >= 800, 90_000);
      expect(valuesByKey(got)).toEqual(expected);
    } finally {
      for (const q of servers) await q.close();
      await Promise.all([a.close(), b.close()]);
    }

    const admin = kafka.admin();
    await admin.connect();
    const topics = await admin.listTopics();
    await admin.disconnect();
    expect(topics.filter((t) => t.startsWith(app) && t.includes('changelog'))).toEqual([]);

    fs.rmSync(config('a').stateDir, { recursive: true, force: true });
    const again = new StreamsApp(topology(app), config('a'));
    await again.start();
    try {
      await produce(kafka, `${app}-orders`, orders(800, 200));
      expect1(800, 200, (p) => (p % 2 === 0 ? 2 : 1));
      const got = await readUntil(
        kafka,
        `${app}-out`,
        (rs) => valuesByKey(rs).size >= 1_000,
        90_000,
      );
      expect(valuesByKey(got)).toEqual(expected);
    } finally {
      await again.close();
    }
  });
});
