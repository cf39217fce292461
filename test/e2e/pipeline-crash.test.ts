/**
 * The flagship under crashes, every part its own process on the real broker and
 * registry: two `millrace run apps/finnhub-vwap` instances (exactly-once) and the DuckDB
 * sink (`millrace sink`). Input arrives in two ingests; while the second flows, one
 * instance is SIGKILLed and restarted on its state directory, and the sink kills itself
 * right after a warehouse commit (before anything else) and is started again.
 *
 * The DuckDB tables must equal what the test computes from the input topic itself
 * (test/support/pipeline-oracle.ts): each (symbol, trade_timestamp) once with the same
 * row, each closed window's vwap/volume/count/OHLC equal within 1e-9 relative; trades.dlq
 * must hold exactly the rule breakers and the late trades.
 *
 * Each instance runs MILLRACE_E2E_STREAM_THREADS stream threads (1 here; 2 in
 * pipeline-crash-2-threads.test.ts, which runs this file again): a SIGKILL takes both.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createKafka } from '../../connectors/kafka/client.js';
import type { Trade, VwapWindow } from '../../processors/market/trade.js';
import {
  cleanUpRun,
  expectWarehouseEquals,
  oracleFromInput,
  pipelineProcesses,
  quiet,
  readAll as readAllOf,
} from '../support/pipeline-e2e.js';

const PREFIX = `e2e-${randomUUID().slice(0, 8)}.`;
process.env.MILLRACE_TOPIC_PREFIX = PREFIX;
const APP_ID = `${PREFIX}finnhub-vwap`.replace(/\./g, '-');
const SINK_ID = `${APP_ID}-sink`;
const { SERDES, TOPICS, serdes } = await import('../../apps/finnhub-vwap/app.js');
// Event time: recent (outputs carry it, and Kafka deletes records older than retention).
const START = Math.floor((Date.now() - 40 * 60_000) / 60_000) * 60_000;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'millrace-crash-'));
const THREADS = Number(process.env.MILLRACE_E2E_STREAM_THREADS ?? 1);
const duckdbPath = path.join(dir, 'warehouse.duckdb');
let kafka: Kafka;

const readAll = (topic: string, n: number) => readAllOf(kafka, topic, n);

beforeAll(() => {
  kafka = createKafka({ brokers: inject('kafkaBrokers'), clientId: 'e2e-pipeline-crash' });
});
afterAll(() => cleanUpRun(kafka, { prefix: PREFIX, appId: APP_ID, dir }));

describe(`finnhub-vwap under crashes, as processes (${THREADS} stream thread${THREADS > 1 ? 's' : ''} per instance)`, () => {
  it('instance SIGKILLed mid-stream and sink killed after a commit: DuckDB equals the independent computation', async () => {
    const {
      ingest,
      instance: start,
      sink: startSink,
    } = pipelineProcesses({
      prefix: PREFIX,
      appId: APP_ID,
      dir,
      partitions: 4,
    });
    // b2 restarts on b's state directory.
    const instance = (name: string) => start(name, name.replace(/\d+$/, ''), THREADS);
    const sink = (name: string, fault: Record<string, string> = {}) =>
      startSink(name, duckdbPath, SINK_ID, fault);

    // First part of the input, then the fleet, then the second part while one instance dies.
    expect(await ingest(21, START, 12_000).exited).toBe(0);
    const s1 = sink('sink-1', { MILLRACE_FAULT_SINK_KILL_AFTER_COMMITS: '3' });
    const a = instance('a');
    const b = instance('b');
    await Promise.all([a, b].map((c) => c.waitFor((l) => l.event === 'started', 90_000)));
    const second = ingest(22, START + 8 * 60_000, 12_000);
    await new Promise((r) => setTimeout(r, 1200));
    b.signal('SIGKILL');
    await b.exited;
    const b2 = instance('b2');
    expect(await second.exited).toBe(0);
    await b2.waitFor((l) => l.event === 'started', 90_000);

    // The sink died right after its third warehouse commit; a new one resumes from the
    // offsets stored with the rows.
    expect(await s1.exited).toBeNull(); // killed by a signal
    // (it prints a batch line after the commit; the third commit's line never came)
    expect(s1.lines.filter((l) => l.event === 'batch')).toHaveLength(2);
    const s2 = sink('sink-2');
    await s2.waitFor((l) => l.event === 'started', 60_000);

    // The oracle, from the input topic as it is.
    const s = await serdes(inject('registryUrl'));
    const expected = await oracleFromInput(kafka, TOPICS.raw, s[SERDES.raw]);
    expect(expected.trades.length).toBeGreaterThan(20_000);
    expect(expected.windows.length).toBeGreaterThan(80);
    expect(expected.deadLetters.some((d) => d.startsWith('late|'))).toBe(true);
    expect(expected.duplicates).toBeGreaterThan(0);

    // Kafka outputs (read_committed): exactly once each.
    const clean = (await readAll(TOPICS.clean, expected.trades.length)).map(
      (r) => s[SERDES.trade].deserialize(Buffer.from(r.value!, 'base64')) as Trade,
    );
    expect(clean.length).toBe(expected.trades.length);
    const vwap = (await readAll(TOPICS.vwap, expected.windows.length)).map(
      (r) => s[SERDES.vwap].deserialize(Buffer.from(r.value!, 'base64')) as VwapWindow,
    );
    expect(vwap.length).toBe(expected.windows.length);
    const dlq = await readAll(TOPICS.dlq, expected.deadLetters.length);
    const dl = dlq.map(
      (r) =>
        `${r.headers['millrace.reason']}|${r.headers['millrace.source.partition']}|${r.headers['millrace.source.offset']}`,
    );
    expect(dl.sort()).toEqual([...expected.deadLetters].sort());

    // Let the sink drain: quiet for 3 s after the last batch, then stop it (it flushes).
    await quiet(s2, 3000, 90_000);
    s2.signal('SIGTERM');
    expect(await s2.exited).toBe(0);
    for (const c of [a, b2]) c.signal('SIGTERM');
    await Promise.all([a.exited, b2.exited]);

    await expectWarehouseEquals(duckdbPath, expected);
  }, 600_000);
});
