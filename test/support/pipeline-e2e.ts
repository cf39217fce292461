/**
 * Shared steps of the flagship's e2e tests: read topics, compute the oracle from the
 * input topic, wait for the sink to drain, and compare the DuckDB tables with the oracle.
 */
import fs from 'node:fs';
import type { Kafka } from 'kafkajs';
import { expect, inject } from 'vitest';
import { DuckDbSink } from '../../connectors/duckdb/index.js';
import type { RawTradeMessage } from '../../processors/market/trade.js';
import {
  deleteTopicsWithPrefix,
  readUntil,
  recordsIn,
  settled,
  type ReadRecord,
} from './kafka-helpers.js';
import { closeTo, expectedOutputs, type Expected } from './pipeline-oracle.js';
import path from 'node:path';
import { startChild, stopAll, type Child } from './processes.js';

/**
 * After a pipeline test file: stops the processes it started, deletes its topics (those of
 * its prefix and of its application id) and removes its folder.
 */
export async function cleanUpRun(
  kafka: Kafka | undefined,
  run: { prefix: string; appId: string; dir: string },
): Promise<void> {
  await stopAll();
  if (kafka) {
    await deleteTopicsWithPrefix(kafka, run.prefix);
    await deleteTopicsWithPrefix(kafka, run.appId);
  }
  fs.rmSync(run.dir, { recursive: true, force: true });
}

/**
 * Reads exactly `n` records of `topic` (values base64): reads until at least `n` came and
 * none more for a second, and fails if any record beyond `n` arrived by then.
 */
export async function readAll(kafka: Kafka, topic: string, n: number): Promise<ReadRecord[]> {
  const got = await readUntil(kafka, topic, settled(n, 1000), 120_000, 'base64');
  expect(got.length, `${topic} holds records beyond the ${n} expected`).toBe(n);
  return got;
}

type Serde = { deserialize(b: Buffer): unknown };

/** The oracle from `trades.raw` as it is (every record, partition and offset order). */
export async function oracleFromInput(
  kafka: Kafka,
  rawTopic: string,
  raw: Serde,
): Promise<Expected> {
  const records = await readAll(kafka, rawTopic, await recordsIn(kafka, rawTopic));
  return expectedOutputs(
    rawTopic,
    records.map((r) => ({
      partition: r.partition,
      offset: r.offset,
      key: r.key,
      message: raw.deserialize(Buffer.from(r.value!, 'base64')) as RawTradeMessage,
    })),
  );
}

/** Resolves once `c` printed no `batch` line for `ms`. */
export async function quiet(c: Child, ms: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const last = [...c.lines].reverse().find((l) => l.event === 'batch' || l.event === 'started');
    const at = last ? Date.parse(String(last.time)) : 0;
    if (Date.now() - at >= ms) return;
    if (Date.now() > deadline) throw new Error(`${c.name} never went quiet`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The warehouse's `trades` and `vwap_1m` rows, timestamps as epoch ms. */
export interface WarehouseRows {
  trades: Array<Record<string, unknown>>;
  windows: Array<Record<string, unknown>>;
}

/** The tables equal the oracle: every trade row, every window within 1e-9. */
export function expectRowsEqual(rows: WarehouseRows, expected: Expected): void {
  const byKey = new Map(expected.trades.map((t) => [`${t.symbol}|${t.trade_timestamp}`, t]));
  expect(rows.trades.length).toBe(byKey.size);
  for (const row of rows.trades) {
    const want = byKey.get(`${String(row.symbol)}|${String(row.trade_timestamp)}`);
    expect(
      want,
      `unexpected row ${String(row.symbol)} ${String(row.trade_timestamp)}`,
    ).toBeDefined();
    expect(row).toEqual({ ...want });
  }
  const wanted = new Map(expected.windows.map((w) => [`${w.symbol}|${w.window_start}`, w]));
  expect(rows.windows.length).toBe(wanted.size);
  for (const row of rows.windows) {
    const w = wanted.get(`${String(row.symbol)}|${String(row.window_start)}`)!;
    expect(w, `unexpected window ${String(row.symbol)} ${String(row.window_start)}`).toBeDefined();
    expect(row.window_end).toBe(w.window_end);
    expect(row.trade_count).toBe(w.trade_count);
    for (const f of ['vwap', 'volume', 'open', 'high', 'low', 'close'] as const)
      expect(closeTo(row[f] as number | null, w[f]), `${w.symbol} ${w.window_start} ${f}`).toBe(
        true,
      );
  }
}

/** The DuckDB tables equal the oracle (see {@link expectRowsEqual}). */
export async function expectWarehouseEquals(duckdbPath: string, expected: Expected) {
  const db = new DuckDbSink({ path: duckdbPath });
  await db.open();
  try {
    expectRowsEqual(
      { trades: await db.readRows('trades'), windows: await db.readRows('vwap_1m') },
      expected,
    );
  } finally {
    await db.close();
  }
}

/** Next offset to read per `topic:partition` after `records` (the last one read + 1). */
export function nextOffsets(topic: string, records: ReadRecord[]): Map<string, number> {
  const next = new Map<string, number>();
  for (const r of records) {
    const key = `${topic}:${r.partition}`;
    next.set(key, Math.max(next.get(key) ?? 0, r.offset + 1));
  }
  return next;
}

/**
 * One `millrace run apps/finnhub-vwap` instance as a child process named `name`: its
 * metrics on `metricsPort` (default 0, a free port), `streamThreads` stream threads when
 * given (else the default).
 */
export function vwapInstance(
  name: string,
  o: { appId: string; stateDir: string; metricsPort?: number; streamThreads?: number },
  env: Record<string, string>,
): Child {
  const threads =
    o.streamThreads === undefined ? [] : ['--num-stream-threads', String(o.streamThreads)];
  return startChild(
    name,
    'bin/millrace.js',
    [
      'run',
      'apps/finnhub-vwap',
      '--app-id',
      o.appId,
      '--metrics-port',
      String(o.metricsPort ?? 0),
      '--state-dir',
      o.stateDir,
      ...threads,
    ],
    env,
  );
}

/** The pipeline's commands as processes, on the run's brokers, registry and topic prefix. */
export function pipelineProcesses(o: {
  /** Default: the test layer's broker and registry. */
  brokers?: string[];
  registryUrl?: string;
  prefix: string;
  appId: string;
  /** Parent of the instances' state directories. */
  dir: string;
  partitions: number;
}) {
  const env = {
    MILLRACE_BOOTSTRAP_SERVERS: (o.brokers ?? inject('kafkaBrokers')).join(','),
    MILLRACE_REGISTRY_URL: o.registryUrl ?? inject('registryUrl'),
    MILLRACE_TOPIC_PREFIX: o.prefix,
  };
  return {
    env,
    /** A deterministic synthetic feed: `frames` frames at `rate` trades/s of event time from `start`. */
    ingest: (seed: number, start: number, frames: number, rate = 200): Child =>
      startChild(
        `ingest-${seed}`,
        'bin/millrace.js',
        [
          'ingest',
          '--count',
          String(frames),
          '--rate',
          String(rate),
          '--max-speed',
          '--seed',
          String(seed),
          '--start',
          String(start),
          '--partitions',
          String(o.partitions),
          '--quiet',
        ],
        env,
      ),
    /**
     * One `millrace run apps/finnhub-vwap` instance with state in `<dir>/<stateName>`, with
     * `streamThreads` stream threads (`--num-stream-threads`).
     */
    instance: (name: string, stateName = name, streamThreads = 1): Child =>
      vwapInstance(
        name,
        { appId: o.appId, stateDir: path.join(o.dir, stateName), streamThreads },
        env,
      ),
    /** `millrace sink` into `duckdbPath`. */
    sink: (name: string, duckdbPath: string, sinkId: string, extra: Record<string, string> = {}) =>
      startChild(
        name,
        'bin/millrace.js',
        ['sink', '--duckdb', duckdbPath, '--sink-id', sinkId, '--metrics-port', '0'],
        { ...env, ...extra },
      ),
    /**
     * `millrace sink` as a Snowflake user runs it: no warehouse flag, the connection in
     * `snowflakeEnv` (`SNOWFLAKE_ACCOUNT` set selects Snowflake).
     */
    snowflakeSink: (
      name: string,
      sinkId: string,
      snowflakeEnv: Record<string, string>,
      args: string[] = [],
    ) =>
      startChild(
        name,
        'bin/millrace.js',
        ['sink', '--sink-id', sinkId, '--metrics-port', '0', ...args],
        { ...env, ...snowflakeEnv },
      ),
  };
}
