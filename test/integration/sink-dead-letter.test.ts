/**
 * The warehouse sink against a real broker and registry: a record of trades.clean it
 * cannot read (bytes that are not Avro, a schema id the registry never issued, a tombstone)
 * or whose row does not fit the table (a NaN price) goes to warehouse.dlq with the reason and where it
 * came from, the good rows around it are written, and a restarted sink neither writes nor dead-letters anything twice (the
 * dead-lettered offsets were committed with the next batch of rows).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createKafka } from '../../connectors/kafka/client.js';
import type { Trade } from '../../processors/market/trade.js';
import { createLogger } from '../../runtime/log.js';
import {
  createTopics,
  deleteTopicsWithPrefix,
  produce,
  readUntil,
  settled,
} from '../support/kafka-helpers.js';

const PREFIX = `sinkdlq-${randomUUID().slice(0, 8)}.`;
process.env.MILLRACE_TOPIC_PREFIX = PREFIX;
const { SERDES, TOPICS, serdes } = await import('../../apps/finnhub-vwap/app.js');
const { startPipelineSink } = await import('../../apps/finnhub-vwap/sink.js');

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'millrace-sink-dlq-'));
const duckdbPath = path.join(dir, 'w.duckdb');
let kafka: Kafka;

beforeAll(async () => {
  kafka = createKafka({ brokers: inject('kafkaBrokers'), clientId: PREFIX });
  await createTopics(kafka, [
    { topic: TOPICS.clean, partitions: 1 },
    { topic: TOPICS.vwap, partitions: 1 },
  ]);
});

afterAll(async () => {
  await deleteTopicsWithPrefix(kafka, PREFIX);
  fs.rmSync(dir, { recursive: true, force: true });
});

const trade = (t: number): Trade => ({
  uuid: `00000000-0000-5000-8000-${String(t).padStart(12, '0')}`,
  trade_conditions: null,
  price: 100 + t,
  symbol: 'AAPL',
  trade_timestamp: 1_767_225_600_000 + t,
  ingest_timestamp: 1_767_225_600_000 + t,
  volume: 1,
  type: 'trade',
});

type Running = Awaited<ReturnType<typeof startPipelineSink>>;

/** The `trades` rows once there are `n` (or what there is after a minute). */
async function rowsWhenAt(sink: Running, n: number): Promise<Array<Record<string, unknown>>> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const rows = await sink.warehouse.readRows('trades');
    if (rows.length >= n || Date.now() > deadline) return rows;
    await new Promise((r) => setTimeout(r, 300));
  }
}

/** Dead letters the sinks reported (onDeadLetter: what `millrace sink` logs and counts). */
const reported: Array<{ reason: string; source: string }> = [];

/** Starts the pipeline's sink on the test's DuckDB file, runs `body`, stops it. */
async function withSink(body: (sink: Running) => Promise<void>): Promise<void> {
  const fatal: unknown[] = [];
  const sink = await startPipelineSink(
    {
      brokers: inject('kafkaBrokers'),
      registryUrl: inject('registryUrl'),
      duckdbPath,
      log: createLogger('error'),
      onDeadLetter: (d) => reported.push(d),
    },
    (err) => fatal.push(err),
  );
  try {
    await body(sink);
  } finally {
    await sink.stop();
  }
  expect(fatal).toEqual([]);
}

describe('warehouse sink dead letters', { timeout: 180_000 }, () => {
  it('dead-letters what it cannot read with the reason and source, writes the rest, and repeats nothing on restart', async () => {
    const s = await serdes(inject('registryUrl'));
    const avro = s[SERDES.trade];
    const unknownId = Buffer.concat([Buffer.from([0, 0x7f, 0xff, 0xff, 0xf0]), Buffer.from('x')]);
    await produce(kafka, TOPICS.clean, [
      { key: 'AAPL', value: avro.serialize(trade(1)) },
      { key: 'AAPL', value: Buffer.from('not avro at all') },
      { key: 'AAPL', value: unknownId },
      // Avro takes a NaN price; the trades table does not.
      { key: 'AAPL', value: avro.serialize({ ...trade(4), price: Number.NaN }) },
      { key: 'AAPL', value: avro.serialize(trade(2)) },
      { key: 'AAPL', value: null }, // a tombstone: no row
    ]);
    await withSink(async (sink) => {
      const rows = await rowsWhenAt(sink, 2);
      expect(rows.map((r) => Number(r.trade_timestamp))).toEqual([
        trade(1).trade_timestamp,
        trade(2).trade_timestamp,
      ]);
    });
    // Produced before the batch that holds their offsets was written.
    const dlq = await readUntil(kafka, TOPICS.sinkDlq, settled(4, 1000), 30_000, 'base64');
    // Those it cannot read as they are read; a row its table refuses when the batch is written.
    const reasons = ['deserialization_error', 'deserialization_error', 'tombstone', 'invalid_row'];
    const offsets = [1, 2, 5, 3];
    expect(dlq.map((r) => r.headers['millrace.reason'])).toEqual(reasons);
    expect(dlq.map((r) => Number(r.headers['millrace.source.offset']))).toEqual(offsets);
    expect(dlq[3]!.headers['millrace.error']).toMatch(/price/);
    expect(dlq[2]!.headers['millrace.error']).toMatch(/tombstone/);
    expect(dlq[2]!.value).toBeNull();
    expect(reported).toEqual(
      offsets.map((offset, i) => ({ reason: reasons[i], source: `${TOPICS.clean}:0@${offset}` })),
    );
    expect(dlq.every((r) => r.headers['millrace.source.topic'] === TOPICS.clean)).toBe(true);
    expect(dlq[0]!.headers['millrace.error']).toMatch(/magic byte/);
    expect(dlq[1]!.headers['millrace.error']).toMatch(/schema id/);
    // The original bytes, as consumed.
    expect(Buffer.from(dlq[0]!.value!, 'base64').toString()).toBe('not avro at all');
    expect(Buffer.from(dlq[1]!.value!, 'base64').equals(unknownId)).toBe(true);

    // Restarted on the same warehouse: it resumes after the last offset written, so the
    // dead-lettered records are not read (nor dead-lettered) again; one more good trade is written.
    await produce(kafka, TOPICS.clean, [{ key: 'AAPL', value: avro.serialize(trade(3)) }]);
    await withSink(async (sink) => {
      expect((await rowsWhenAt(sink, 3)).length).toBe(3);
    });
    const after = await readUntil(kafka, TOPICS.sinkDlq, settled(4, 3000), 30_000);
    expect(after.length).toBe(4);
    expect(reported).toHaveLength(4);
  });
});
