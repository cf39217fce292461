/**
 * The soak's verdict on the finnhub-vwap pipeline: what `trades.raw` holds, computed on
 * its own (test/support/pipeline-oracle.ts: dedupe, lateness and windows re-derived), set
 * against what came out — `trades.clean`, `vwap.1m` and `trades.dlq` read_committed, and
 * the DuckDB `trades` and `vwap_1m` tables.
 */
import type { Kafka } from 'kafkajs';
import { DuckDbSink } from '../../connectors/duckdb/index.js';
import type { RawTradeMessage, Trade, VwapWindow } from '../../processors/market/trade.js';
import { readUntil, settled, type ReadRecord } from '../lib/topic-read.js';
import {
  closeTo,
  expectedOutputs,
  type Expected,
  type ExpectedWindow,
} from '../lib/pipeline-oracle.js';

type Serde = { deserialize(b: Buffer): unknown };

export interface PipelineTopics {
  raw: string;
  clean: string;
  vwap: string;
  dlq: string;
}

/** How the outputs compare with the computation from the input. */
export interface PipelineVerdict {
  /** Trade messages in trades.raw, and the trades in them. */
  rawMessages: number;
  tradesIn: number;
  expected: { trades: number; windows: number; deadLetters: number };
  /** What each output holds, and how it differs from what it must hold. */
  clean: Tally;
  vwap: Tally & { wrong: number };
  dlq: Tally;
  warehouseTrades: Tally & { wrong: number };
  warehouseWindows: Tally & { wrong: number };
  /** A few of the differences, for the log. */
  examples: string[];
}

export interface Tally {
  records: number;
  missing: number;
  duplicated: number;
  unexpected: number;
}

/** Reads `topic` until it holds `atLeast` records and then nothing more for 3 s. */
async function readAll(kafka: Kafka, topic: string, atLeast: number, timeoutMs: number) {
  let got: ReadRecord[] = [];
  const done = settled(atLeast, 3000);
  await readUntil(kafka, topic, (r) => ((got = r), done(r)), timeoutMs, 'base64').catch(
    () => undefined, // judged on what arrived
  );
  return got;
}

/** Counts of `keys` against the expected keys (each expected once). */
function tally(keys: string[], expected: Set<string>, examples: string[], what: string): Tally {
  const seen = new Map<string, number>();
  for (const k of keys) seen.set(k, (seen.get(k) ?? 0) + 1);
  const t: Tally = { records: keys.length, missing: 0, duplicated: 0, unexpected: 0 };
  for (const [k, n] of seen) {
    if (n > 1) {
      t.duplicated += n - 1;
      if (examples.length < 12) examples.push(`${what}: ${k} ${n} times`);
    }
    if (!expected.has(k)) {
      t.unexpected++;
      if (examples.length < 12) examples.push(`${what}: unexpected ${k}`);
    }
  }
  for (const k of expected)
    if (!seen.has(k)) {
      t.missing++;
      if (examples.length < 12) examples.push(`${what}: missing ${k}`);
    }
  return t;
}

const windowKey = (w: { symbol?: unknown; window_start?: unknown }) =>
  `${String(w.symbol)}|${String(w.window_start)}`;

function sameWindow(got: Record<string, unknown>, want: ExpectedWindow): boolean {
  if (got.window_end !== want.window_end || got.trade_count !== want.trade_count) return false;
  return (['vwap', 'volume', 'open', 'high', 'low', 'close'] as const).every((f) =>
    closeTo(got[f] as number | null, want[f]),
  );
}

/** The Kafka side: reads the input, computes the oracle, waits for and checks the outputs. */
export async function verifyTopics(
  kafka: Kafka,
  topics: PipelineTopics,
  serdes: { raw: Serde; trade: Serde; vwap: Serde },
  rawCount: number,
  timeoutMs = 600_000,
): Promise<{ verdict: PipelineVerdict; expected: Expected }> {
  const raw = await readAll(kafka, topics.raw, rawCount, timeoutMs);
  const inputs = raw.map((r) => ({
    partition: r.partition,
    offset: r.offset,
    key: r.key,
    message: serdes.raw.deserialize(Buffer.from(r.value!, 'base64')) as RawTradeMessage,
  }));
  const expected = expectedOutputs(topics.raw, inputs);
  const examples: string[] = [];
  const tradeKey = (t: { symbol: unknown; trade_timestamp: unknown }) =>
    `${String(t.symbol)}|${String(t.trade_timestamp)}`;

  const clean = (await readAll(kafka, topics.clean, expected.trades.length, timeoutMs)).map(
    (r) => serdes.trade.deserialize(Buffer.from(r.value!, 'base64')) as Trade,
  );
  const vwap = (await readAll(kafka, topics.vwap, expected.windows.length, timeoutMs)).map(
    (r) => serdes.vwap.deserialize(Buffer.from(r.value!, 'base64')) as VwapWindow,
  );
  const dlq = await readAll(kafka, topics.dlq, expected.deadLetters.length, timeoutMs);
  const wanted = new Map(expected.windows.map((w) => [windowKey(w), w]));
  let wrongWindows = 0;
  for (const w of vwap) {
    const want = wanted.get(windowKey(w));
    if (want && !sameWindow(w as unknown as Record<string, unknown>, want)) {
      wrongWindows++;
      if (examples.length < 12)
        examples.push(
          `vwap.1m: ${windowKey(w)} has ${w.trade_count} trades for ${want.trade_count}`,
        );
    }
  }
  return {
    expected,
    verdict: {
      rawMessages: raw.length,
      tradesIn: inputs.reduce((n, i) => n + i.message.data.length, 0),
      expected: {
        trades: expected.trades.length,
        windows: expected.windows.length,
        deadLetters: expected.deadLetters.length,
      },
      clean: tally(
        clean.map(tradeKey),
        new Set(expected.trades.map(tradeKey)),
        examples,
        'trades.clean',
      ),
      vwap: {
        ...tally(vwap.map(windowKey), new Set(wanted.keys()), examples, 'vwap.1m'),
        wrong: wrongWindows,
      },
      dlq: tally(
        dlq.map(
          (r) =>
            `${r.headers['millrace.reason']}|${r.headers['millrace.source.partition']}|${r.headers['millrace.source.offset']}`,
        ),
        new Set(expected.deadLetters),
        examples,
        'trades.dlq',
      ),
      warehouseTrades: { records: 0, missing: 0, duplicated: 0, unexpected: 0, wrong: 0 },
      warehouseWindows: { records: 0, missing: 0, duplicated: 0, unexpected: 0, wrong: 0 },
      examples,
    },
  };
}

/** The warehouse side (after the sink stopped): the DuckDB tables against the oracle. */
export async function verifyWarehouse(
  duckdbPath: string,
  expected: Expected,
  verdict: PipelineVerdict,
): Promise<void> {
  const db = new DuckDbSink({ path: duckdbPath });
  await db.open();
  try {
    const trades = await db.readRows('trades');
    const windows = await db.readRows('vwap_1m');
    const tradeKey = (t: Record<string, unknown>) =>
      `${String(t.symbol)}|${String(t.trade_timestamp)}`;
    const byKey = new Map(expected.trades.map((t) => [`${t.symbol}|${t.trade_timestamp}`, t]));
    let wrongTrades = 0;
    for (const row of trades) {
      const want = byKey.get(tradeKey(row));
      if (want && (Object.keys(want) as Array<keyof Trade>).some((k) => row[k] !== want[k]))
        wrongTrades++;
    }
    verdict.warehouseTrades = {
      ...tally(trades.map(tradeKey), new Set(byKey.keys()), verdict.examples, 'trades table'),
      wrong: wrongTrades,
    };
    const wanted = new Map(expected.windows.map((w) => [windowKey(w), w]));
    let wrongWindows = 0;
    for (const row of windows) {
      const want = wanted.get(windowKey(row));
      if (want && !sameWindow(row, want)) {
        wrongWindows++;
        if (verdict.examples.length < 12)
          verdict.examples.push(
            `vwap_1m table: ${windowKey(row)} has ${String(row.trade_count)} trades for ${want.trade_count}`,
          );
      }
    }
    verdict.warehouseWindows = {
      ...tally(windows.map(windowKey), new Set(wanted.keys()), verdict.examples, 'vwap_1m table'),
      wrong: wrongWindows,
    };
  } finally {
    await db.close();
  }
}
