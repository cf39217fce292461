/**
 * The flagship into Snowflake, every part its own process as a user runs it: `millrace
 * ingest` (deterministic synthetic feed), two `millrace run apps/finnhub-vwap` instances,
 * and `millrace sink` with `SNOWFLAKE_*` in its environment, talking snowflake-sdk to the
 * local gateway process (deploy/local/snowflake-gateway.ts) in front of fakesnow.
 *
 * - A sink in the default `merge` mode fails on fakesnow (MERGE inside a transaction):
 *   it must stop with exit code 3, commit nothing, and not print the password.
 * - The sink is SIGKILLed right after its second warehouse commit, and a second ingest
 *   adds input; the table `millrace_offsets` then holds what it committed, and a new sink must
 *   resume from exactly those offsets (its log says which) and write exactly the rows the
 *   first did not (its batch lines add up to the rest).
 * - Read back through snowflake-sdk: `trades` and `vwap_1m` equal what the test computes
 *   from the input topic itself (test/support/pipeline-oracle.ts), and `millrace_offsets`
 *   holds, per partition of `trades.clean` and `vwap.1m`, the offset after the last record.
 * - SNOWFLAKE_PASSWORD appears in no line any sink printed (stdout or stderr).
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Kafka } from 'kafkajs';
import snowflake from 'snowflake-sdk';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createKafka } from '../../connectors/kafka/client.js';
import {
  cleanUpRun,
  expectRowsEqual,
  nextOffsets,
  oracleFromInput,
  pipelineProcesses,
  readAll as readAllOf,
  type WarehouseRows,
} from '../support/pipeline-e2e.js';
import type { Child } from '../support/processes.js';

snowflake.configure({ logLevel: 'OFF' });

const RUN = randomUUID().slice(0, 8);
const PREFIX = `sfe2e-${RUN}.`;
process.env.MILLRACE_TOPIC_PREFIX = PREFIX;
const APP_ID = `${PREFIX}finnhub-vwap`.replace(/\./g, '-');
const SINK_ID = `${APP_ID}-sink`;
const DATABASE = `MR_E2E_${RUN.toUpperCase()}`;
const SCHEMA = 'PIPELINE';
const PASSWORD = `Pw-${randomUUID()}`;
const { SERDES, TOPICS, serdes } = await import('../../apps/finnhub-vwap/app.js');
// Event time: recent (outputs carry it, and Kafka deletes records older than retention).
const START = Math.floor((Date.now() - 30 * 60_000) / 60_000) * 60_000;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'millrace-sfe2e-'));
let kafka: Kafka;

/** What a user exports to point `millrace sink` at the local emulator. */
function snowflakeEnv(): Record<string, string> {
  const gw = inject('snowflakeGateway');
  return {
    SNOWFLAKE_ACCOUNT: 'millrace',
    SNOWFLAKE_USER: 'e2e_loader',
    SNOWFLAKE_PASSWORD: PASSWORD,
    SNOWFLAKE_DATABASE: DATABASE,
    SNOWFLAKE_SCHEMA: SCHEMA,
    SNOWFLAKE_HOST: gw.host,
    SNOWFLAKE_PORT: String(gw.port),
    SNOWFLAKE_PROTOCOL: gw.protocol,
    SNOWFLAKE_CREATE_DATABASE: 'true',
    // fakesnow cannot MERGE inside a transaction (see test/integration/warehouse-contract.test.ts)
    SNOWFLAKE_UPSERT: 'delete-insert',
  };
}

/** A plain snowflake-sdk session through the gateway, to read what the sink wrote. */
async function snowflakeReader() {
  const gw = inject('snowflakeGateway');
  const conn = snowflake.createConnection({
    account: 'millrace',
    username: 'e2e_reader',
    password: 'not-checked-by-fakesnow',
    accessUrl: `${gw.protocol}://${gw.host}:${gw.port}`,
    database: DATABASE,
  });
  await new Promise<void>((res, rej) => conn.connect((e) => (e ? rej(e) : res())));
  const query = (sqlText: string, binds?: snowflake.Binds) =>
    new Promise<Array<Record<string, unknown>>>((res, rej) =>
      conn.execute({ sqlText, binds, complete: (e, _s, rows) => (e ? rej(e) : res(rows ?? [])) }),
    );
  const table = `${DATABASE}.${SCHEMA}`;
  return {
    query,
    /** `millrace_offsets` of one sink id: next offset per `topic:partition`. */
    async offsets(sinkId: string): Promise<Map<string, number>> {
      const rows = await query(
        `SELECT topic, partition, next_offset FROM ${table}.millrace_offsets WHERE sink_id = ?`,
        [sinkId],
      );
      return new Map(
        rows.map((r) => [`${String(r.TOPIC)}:${Number(r.PARTITION)}`, Number(r.NEXT_OFFSET)]),
      );
    },
    async count(t: string): Promise<number> {
      const [row] = await query(`SELECT COUNT(*) AS n FROM ${table}.${t}`);
      return Number(row!.N);
    },
    async rows(): Promise<WarehouseRows> {
      const trades = await query(
        `SELECT uuid, trade_conditions, price, symbol, trade_timestamp, ingest_timestamp, volume, type FROM ${table}.trades`,
      );
      const windows = await query(
        `SELECT symbol, window_start, window_end, vwap, volume, trade_count, open, high, low, close FROM ${table}.vwap_1m`,
      );
      return { trades: trades.map(plain), windows: windows.map(plain) };
    },
    close: () => new Promise<void>((res) => conn.destroy(() => res())),
  };
}

/** Lower-case column names; TIMESTAMP_NTZ (a Date read as UTC) as epoch ms. */
function plain(row: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(row).map(([k, v]) => [k.toLowerCase(), v instanceof Date ? v.getTime() : v]),
  );
}

/** The complete JSON lines a process wrote to stderr (its structured log). */
function logLines(c: Child): Array<Record<string, unknown>> {
  return c.stderr
    .join('')
    .split('\n')
    .slice(0, -1) // a line still being written has no newline yet
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const got = await probe();
    if (got !== undefined) return got;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

const sorted = (m: Map<string, number>) => [...m].sort(([a], [b]) => a.localeCompare(b));

beforeAll(() => {
  kafka = createKafka({ brokers: inject('kafkaBrokers'), clientId: 'e2e-pipeline-snowflake' });
});
afterAll(async () => {
  const reader = await snowflakeReader().catch(() => undefined);
  await reader?.query(`DROP SCHEMA IF EXISTS ${DATABASE}.${SCHEMA} CASCADE`).catch(() => {});
  await reader?.close();
  await cleanUpRun(kafka, { prefix: PREFIX, appId: APP_ID, dir });
});

describe('finnhub-vwap into Snowflake (fakesnow behind the gateway), as processes', () => {
  it('sink killed after a commit and restarted: Snowflake equals the independent computation, offsets resume exactly', async () => {
    const { ingest, instance, snowflakeSink } = pipelineProcesses({
      prefix: PREFIX,
      appId: APP_ID,
      dir,
      partitions: 4,
    });
    const env = snowflakeEnv();
    const sinks: Child[] = [];
    const sink = (name: string, sinkId: string, extra: Record<string, string> = {}) => {
      // A dead sink's partitions wait out its session; 10s instead of the default 30s keeps the restart short.
      const args = ['--log-level', 'debug', '--session-timeout', '10s'];
      const c = snowflakeSink(name, sinkId, { ...env, ...extra }, args);
      sinks.push(c);
      return c;
    };

    // ~2,300 trades over ~2 minutes of event time, then the fleet.
    expect(await ingest(41, START, 1200, 20).exited).toBe(0);
    const a = instance('a');
    const b = instance('b');

    // The default upsert mode cannot run on fakesnow: the sink must say so and stop, writing nothing.
    const merge = sink('sink-merge', `${SINK_ID}-merge`, { SNOWFLAKE_UPSERT: 'merge' });
    expect(await merge.exited).toBe(3);
    const failed = merge.lines.find((l) => l.event === 'failed');
    expect(String(failed?.error)).toMatch(/could not write the batch \(rolled back/);
    // fakesnow echoes the statement and its binds first: the reason, last, must survive shortening.
    expect(String(failed?.error)).toMatch(/fakesnow answered HTTP 500; the cause is in its log/);

    // The sink dies right after its second commit (the second ingest guarantees there is one).
    const s1 = sink('sink-1', SINK_ID, { MILLRACE_FAULT_SINK_KILL_AFTER_COMMITS: '2' });
    expect((await s1.waitFor((l) => l.event === 'started', 90_000)).warehouse).toBe('snowflake');
    await s1.waitFor((l) => l.event === 'batch', 90_000);
    const second = ingest(42, START + 3 * 60_000, 1200, 20);
    expect(await s1.exited).toBeNull(); // SIGKILL
    expect(s1.lines.filter((l) => l.event === 'batch')).toHaveLength(1); // the 2nd commit's line never came
    expect(await second.exited).toBe(0);

    const reader = await snowflakeReader();
    try {
      // What the dead sink committed, rows and offsets together.
      const committed = await reader.offsets(SINK_ID);
      expect(committed.size).toBeGreaterThan(0);
      const rowsBefore = (await reader.count('trades')) + (await reader.count('vwap_1m'));
      expect(await reader.offsets(`${SINK_ID}-merge`)).toEqual(new Map());

      const s2 = sink('sink-2', SINK_ID);
      await s2.waitFor((l) => l.event === 'started', 120_000);
      const resumed = await until('the restarted sink to resume', 60_000, async () =>
        logLines(s2).find((l) => l.msg === 'sink resumed from warehouse offsets'),
      );
      expect(sorted(new Map(Object.entries(resumed.offsets as Record<string, number>)))).toEqual(
        sorted(committed),
      );
      expect(logLines(s2).find((l) => l.msg === 'snowflake sink logging in')).toMatchObject({
        account: 'millrace',
        user: 'e2e_loader',
        url: `http://${env.SNOWFLAKE_HOST}:${env.SNOWFLAKE_PORT}`,
        database: DATABASE,
        schema: SCHEMA,
        auth: 'password',
      });

      // The oracle, from the input topic as it is; the outputs' last offsets from Kafka.
      const s = await serdes(inject('registryUrl'));
      const expected = await oracleFromInput(kafka, TOPICS.raw, s[SERDES.raw]);
      expect(expected.trades.length).toBeGreaterThan(4000);
      expect(expected.windows.length).toBeGreaterThan(100);
      expect(expected.duplicates).toBeGreaterThan(0);
      const clean = await readAllOf(kafka, TOPICS.clean, expected.trades.length);
      const vwap = await readAllOf(kafka, TOPICS.vwap, expected.windows.length);
      expect([clean.length, vwap.length]).toEqual([
        expected.trades.length,
        expected.windows.length,
      ]);
      const end = new Map([...nextOffsets(TOPICS.clean, clean), ...nextOffsets(TOPICS.vwap, vwap)]);

      // Drained when the warehouse's offsets reach the ends of both topics.
      await until('the sink to commit the last offsets', 120_000, async () => {
        const now = await reader.offsets(SINK_ID);
        return JSON.stringify(sorted(now)) === JSON.stringify(sorted(end)) ? now : undefined;
      });
      s2.signal('SIGTERM');
      expect(await s2.exited).toBe(0);
      for (const c of [a, b]) c.signal('SIGTERM');
      await Promise.all([a.exited, b.exited]);

      expectRowsEqual(await reader.rows(), expected);
      expect(sorted(await reader.offsets(SINK_ID))).toEqual(sorted(end));
      // The restarted sink wrote exactly the rows the first had not committed: none twice, none skipped.
      const written = s2.lines
        .filter((l) => l.event === 'batch')
        .reduce((n, l) => n + Number(l.rows), 0);
      expect(rowsBefore + written).toBe(expected.trades.length + expected.windows.length);
    } finally {
      await reader.close();
    }

    // Every sink had the password in its environment; none printed it.
    for (const c of sinks) {
      const out = [...c.lines.map((l) => JSON.stringify(l)), ...c.stderr].join('\n');
      expect(out.length).toBeGreaterThan(0);
      expect(out, `${c.name} printed SNOWFLAKE_PASSWORD`).not.toContain(PASSWORD);
    }
  }, 300_000);
});
