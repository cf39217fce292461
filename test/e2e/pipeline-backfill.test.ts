/**
 * A backfill: the flagship fed trades from years ago (the synthetic feed from December
 * 2019, as a replay of a recording would be), each part its own process. trades.clean and
 * vwap.1m records carry the trades' event times, and the broker deletes a topic's records
 * by timestamp against its own clock (7 days by default) at its next retention check — the
 * test broker checks every 10 s. So the sink is started only after the instance has
 * stopped and a retention check has passed: the warehouse must still equal the independent
 * computation from the input topic, because `millrace ingest` creates those topics stamped
 * with the time the broker appended each record (`message.timestamp.type=LogAppendTime`).
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createKafka } from '../../connectors/kafka/client.js';
import { RETENTION_CHECK_INTERVAL_MS } from '../../deploy/local/kafka.js';
import { withAdmin } from '../support/kafka-helpers.js';
import {
  cleanUpRun,
  expectWarehouseEquals,
  oracleFromInput,
  pipelineProcesses,
  quiet,
  readAll,
} from '../support/pipeline-e2e.js';

const PREFIX = `e2e-${randomUUID().slice(0, 8)}.`;
process.env.MILLRACE_TOPIC_PREFIX = PREFIX;
const APP_ID = `${PREFIX}finnhub-vwap`.replace(/\./g, '-');
const { SERDES, TOPICS, serdes } = await import('../../apps/finnhub-vwap/app.js');
const START = Date.UTC(2019, 11, 5, 14, 30);
/** The test broker's retention check, and two seconds. */
const RETENTION_CHECK_MS = RETENTION_CHECK_INTERVAL_MS + 2_000;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'millrace-backfill-'));
const duckdbPath = path.join(dir, 'warehouse.duckdb');
let kafka: Kafka;

beforeAll(() => {
  kafka = createKafka({ brokers: inject('kafkaBrokers'), clientId: 'e2e-pipeline-backfill' });
});
afterAll(() => cleanUpRun(kafka, { prefix: PREFIX, appId: APP_ID, dir }));

describe('finnhub-vwap fed trades from 2019', () => {
  it('the warehouse gets every trade and window though the sink starts after the broker’s retention check', async () => {
    const p = pipelineProcesses({ prefix: PREFIX, appId: APP_ID, dir, partitions: 2 });
    expect(await p.ingest(31, START, 4_000, 20).exited).toBe(0);
    const a = p.instance('a');
    await a.waitFor((l) => l.event === 'started', 90_000);

    const s = await serdes(inject('registryUrl'));
    const expected = await oracleFromInput(kafka, TOPICS.raw, s[SERDES.raw]);
    expect(expected.trades.length).toBeGreaterThan(5_000);
    expect(expected.windows.length).toBeGreaterThan(20);
    await readAll(kafka, TOPICS.clean, expected.trades.length);
    await readAll(kafka, TOPICS.vwap, expected.windows.length);
    a.signal('SIGTERM');
    expect(await a.exited).toBe(0);

    const stamping = await withAdmin(kafka, async (admin) => {
      const { resources } = await admin.describeConfigs({
        includeSynonyms: false,
        resources: [TOPICS.clean, TOPICS.vwap].map((name) => ({
          type: 2,
          name,
          configNames: ['message.timestamp.type'],
        })),
      });
      return resources.map((r) => r.configEntries[0]!.configValue);
    });
    expect(stamping).toEqual(['LogAppendTime', 'LogAppendTime']);

    await new Promise((r) => setTimeout(r, RETENTION_CHECK_MS));
    // Still there: read again from the start.
    await readAll(kafka, TOPICS.clean, expected.trades.length);
    await readAll(kafka, TOPICS.vwap, expected.windows.length);
    const sink = p.sink('sink', duckdbPath, `${APP_ID}-sink`);
    await sink.waitFor((l) => l.event === 'started', 60_000);
    await quiet(sink, 3000, 90_000);
    sink.signal('SIGTERM');
    expect(await sink.exited).toBe(0);
    await expectWarehouseEquals(duckdbPath, expected);
  }, 300_000);
});
