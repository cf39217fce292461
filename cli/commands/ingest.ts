/**
 * `millrace ingest`: feeds `trades.raw` from Finnhub's WebSocket (when FINNHUB_TOKEN is
 * set), the synthetic feed (otherwise) or a JSONL recording, through the bounded
 * idempotent ingest producer. Creates its topics when absent, prints a one-line live
 * counter on stderr, and on SIGINT/SIGTERM stops reading, flushes what it accepted and
 * exits 0 (a second signal exits at once). Exit codes: 0 ok, 2 user error, 3 a server
 * unreachable, 1 internal.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { TOPICS } from '../../apps/finnhub-vwap/app.js';
import { Metrics } from '../../observability/metrics.js';
import { ingestMetricsFor } from '../../observability/ingest.js';
import { processView, startServer } from '../../observability/server.js';
import {
  CountingMetrics,
  environment,
  finnhubConfig,
  FinnhubWebSocketSource,
  jsonLogger,
  REJECT_REASONS,
  ReplaySource,
  SyntheticSource,
  teeMetrics,
  type FinnhubConfig,
  type IngestLogger,
  type IngestMetrics,
  type LogLevel,
  type SourceSummary,
  type TradeSink,
  type TradeSource,
} from '../../connectors/finnhub/index.js';
import { createKafka } from '../../connectors/kafka/client.js';
import { IngestProducer } from '../../connectors/finnhub/ingest-producer.js';
import { kafkaBatchSender } from '../../connectors/kafka/keyed-producer.js';
import { ensureTopics } from '../../connectors/kafka/topics.js';
import { AvroRegistrySerde, loadSchema } from '../../connectors/registry/index.js';
import { parseDuration } from '../../runtime/duration.js';
import { withRetries } from '../../runtime/retry.js';
import { parseArgs, type Parsed } from '../args.js';
import type { Command } from '../command.js';
import { EXIT, UsageError } from '../errors.js';

const SCHEMAS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../schemas');
const SOURCES = ['finnhub', 'synthetic', 'replay'] as const;
type SourceKind = (typeof SOURCES)[number];

/** Everything the command needs, from flags, environment and `.env`. */
export interface IngestSettings {
  source: SourceKind;
  brokers: string[];
  registry: string;
  partitions: number;
  durationMs: number | undefined;
  logLevel: LogLevel;
  quiet: boolean;
  /** /metrics (and /healthz) for Prometheus; off unless a port is given. */
  metricsPort: number | undefined;
  finnhub: FinnhubConfig;
  synthetic: {
    symbols: number;
    rate: number;
    seed: number;
    startMs: number | undefined;
    max: boolean;
    /** Frames whose event time is past go at once, later ones at their time (`--catch-up`). */
    catchUp: boolean;
    count: number | undefined;
    jsonFrames: boolean;
  };
  replay: { file: string | undefined; speed: number | 'max' };
}

const VALUES = [
  'source',
  'symbols',
  'rate',
  'seed',
  'start',
  'count',
  'file',
  'speed',
  'duration',
  'partitions',
  'brokers',
  'registry',
  'log-level',
  'metrics-port',
];
const BOOLEANS = ['max-speed', 'catch-up', 'deterministic', 'json-frames', 'quiet'];

function positive(v: string | true | undefined, flag: string, fallback: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (v === true || !Number.isFinite(n) || n <= 0)
    throw new UsageError(`--${flag} ${String(v)} is not a positive number; e.g. --${flag} 10`);
  return n;
}

function integer(v: string | true | undefined, flag: string, fallback: number): number {
  const n = positive(v, flag, fallback);
  if (!Number.isInteger(n)) throw new UsageError(`--${flag} ${String(v)} is not a whole number`);
  return n;
}

function portNumber(v: string | true | undefined): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new UsageError(`--metrics-port ${String(v)}: give a port 1-65535, or 0 for a free one`);
  return n;
}

function startTime(v: string | true | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = /^\d+$/.test(String(v)) ? Number(v) : Date.parse(String(v));
  if (!Number.isFinite(n))
    throw new UsageError(
      `--start ${String(v)} is not a time; give epoch ms or ISO 8601 (2026-01-05T14:30:00Z)`,
    );
  return n;
}

function duration(v: string | true | undefined): number | undefined {
  if (v === undefined) return undefined;
  const ms = parseDuration(String(v));
  if (ms === undefined || ms <= 0)
    throw new UsageError(`--duration ${String(v)} is not a duration; write e.g. 30s or 5m`);
  return ms;
}

function speed(v: string | true | undefined): number | 'max' {
  return v === 'max' ? 'max' : positive(v, 'speed', 1);
}

function chooseSource(flag: string | true | undefined, hasToken: boolean): SourceKind {
  const s = flag === undefined ? (hasToken ? 'finnhub' : 'synthetic') : String(flag);
  if (!(SOURCES as readonly string[]).includes(s))
    throw new UsageError(`--source ${s} is not a source; use one of ${SOURCES.join(', ')}`);
  return s as SourceKind;
}

function logLevel(v: string | true | undefined): LogLevel {
  const l = String(v ?? process.env.MILLRACE_LOG_LEVEL ?? 'warn');
  if (!['error', 'warn', 'info', 'debug'].includes(l))
    throw new UsageError(`--log-level ${l} is not a level; use error, warn, info or debug`);
  return l as LogLevel;
}

/** Finnhub settings; `--symbols AAPL,MSFT` overrides FINNHUB_SYMBOLS for the WebSocket source. */
function finnhubSettings(f: Parsed['flags'], env: Record<string, string | undefined>) {
  const list = f.symbols !== undefined && !/^\d+$/.test(String(f.symbols));
  return finnhubConfig(list ? { ...env, FINNHUB_SYMBOLS: String(f.symbols) } : env);
}

/** The settings `millrace ingest <argv>` runs with (flags, environment, `.env`). */
export function ingestSettings(argv: string[]): IngestSettings {
  return settings(parseArgs(argv, { values: VALUES, booleans: BOOLEANS }));
}

function settings(a: Parsed): IngestSettings {
  const f = a.flags;
  const env = environment();
  const finnhub = finnhubSettings(f, env);
  const source = chooseSource(f.source, !!finnhub.token);
  if (source === 'finnhub' && !finnhub.token)
    throw new UsageError(
      '--source finnhub needs FINNHUB_TOKEN (environment or .env); without a token, use --source synthetic',
    );
  if (source === 'replay' && (f.file === undefined || !fs.existsSync(String(f.file))))
    throw new UsageError(
      f.file === undefined
        ? '--source replay needs --file <recording.jsonl>'
        : `--file ${String(f.file)} does not exist; pass a JSONL file of Finnhub messages`,
    );
  const symbolsIsCount = f.symbols === undefined || /^\d+$/.test(String(f.symbols));
  if (source === 'finnhub' && f.symbols !== undefined && symbolsIsCount)
    throw new UsageError(
      `--symbols ${String(f.symbols)}: the Finnhub source takes symbols, e.g. --symbols AAPL,MSFT,BINANCE:BTCUSDT`,
    );
  if (source === 'synthetic' && !symbolsIsCount)
    throw new UsageError(
      `--symbols ${String(f.symbols)}: the synthetic source takes a count, e.g. --symbols 50`,
    );
  if (f['catch-up'] === true && (f.rate === 'max' || f['max-speed'] === true))
    throw new UsageError(
      '--catch-up paces the feed by the clock; --max-speed (or --rate max) does not: give one of them',
    );
  return {
    source,
    brokers: String(f.brokers ?? env.MILLRACE_BOOTSTRAP_SERVERS ?? '127.0.0.1:9092').split(','),
    registry: String(
      f.registry ?? env.MILLRACE_REGISTRY_URL ?? 'http://127.0.0.1:8081/apis/ccompat/v7',
    ),
    partitions: integer(f.partitions, 'partitions', 8),
    durationMs: duration(f.duration),
    logLevel: logLevel(f['log-level']),
    quiet: f.quiet === true,
    metricsPort:
      f['metrics-port'] !== undefined || env.MILLRACE_INGEST_METRICS_PORT !== undefined
        ? portNumber(f['metrics-port'] ?? env.MILLRACE_INGEST_METRICS_PORT)
        : undefined,
    finnhub,
    synthetic: {
      symbols: symbolsIsCount ? integer(f.symbols, 'symbols', 50) : 50,
      rate: f.rate === 'max' ? 1000 : positive(f.rate, 'rate', 1000),
      seed: integer(f.seed, 'seed', 42),
      startMs: startTime(f.start) ?? (f.deterministic ? Date.UTC(2026, 0, 5, 14, 30) : undefined),
      max: f.rate === 'max' || f['max-speed'] === true,
      catchUp: f['catch-up'] === true,
      count: f.count === undefined ? undefined : integer(f.count, 'count', 1),
      jsonFrames: f['json-frames'] === true,
    },
    replay: { file: f.file === undefined ? undefined : String(f.file), speed: speed(f.speed) },
  };
}

/** The source `s` asks for, handing what it reads to `sink`; `now`: its wall clock (tests). */
export function buildSource(
  s: IngestSettings,
  sink: TradeSink,
  metrics: IngestMetrics,
  logger: IngestLogger,
  now?: () => number,
): TradeSource {
  if (s.source === 'finnhub')
    return new FinnhubWebSocketSource({ config: s.finnhub, sink, metrics, logger });
  if (s.source === 'replay')
    return new ReplaySource({ file: s.replay.file!, speed: s.replay.speed, sink, metrics, logger });
  const y = s.synthetic;
  return new SyntheticSource({
    sink,
    metrics,
    logger,
    feed: { symbols: y.symbols, rate: y.rate, seed: y.seed, startMs: y.startMs },
    deterministic: y.startMs !== undefined,
    pace: y.max ? 'max' : y.catchUp ? 'catch-up' : 'realtime',
    path: y.jsonFrames ? 'frames' : 'batches',
    maxFrames: y.count,
    ...(now ? { now } : {}),
  });
}

/** Kafka could not be reached or refused the admin requests (exit code 3). */
class KafkaUnreachable extends Error {
  readonly domain = 'external' as const;
  constructor(brokers: string[], cause: unknown) {
    super(
      `kafka at ${brokers.join(',')} did not answer (${(cause as Error)?.message ?? String(cause)}); ` +
        'start it (npm run infra:up) or point --brokers / MILLRACE_BOOTSTRAP_SERVERS at it',
      { cause },
    );
  }
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

/** The live line: what was read, produced, dead-lettered, waited for. */
function statusLine(
  s: IngestSettings,
  metrics: CountingMetrics,
  producer: IngestProducer,
  seconds: number,
): string {
  const p = producer.stats();
  const produced = metrics.producedByTopic.get(TOPICS.raw) ?? 0;
  return (
    `ingest ${s.source} ${seconds.toFixed(0)}s: ${fmt(metrics.trades)} trades read ` +
    `(${fmt(metrics.trades / Math.max(seconds, 0.001))}/s), ${fmt(produced)} messages acked in ${TOPICS.raw}, ` +
    `${fmt(metrics.deadLetteredTotal)} to ${TOPICS.finnhubDlq}, reconnects ${metrics.reconnects}, ` +
    `backpressure waits ${fmt(p.backpressureWaits)}, queued ${fmt(p.queuedMessages)}`
  );
}

/** Redraws the live line every second on a terminal; every 10 s a plain line otherwise. */
function startCounter(line: () => string, quiet: boolean): () => void {
  if (quiet) return () => {};
  const tty = process.stderr.isTTY;
  const timer = setInterval(
    () => process.stderr.write(tty ? `\r${line()}\x1b[K` : `${line()}\n`),
    tty ? 1000 : 10_000,
  );
  return () => {
    clearInterval(timer);
    process.stderr.write(`${tty ? '\r' : ''}${line()}${tty ? '\x1b[K' : ''}\n`);
  };
}

/** Aborts on the first SIGINT/SIGTERM (or after the duration); exits 130 on a second signal. */
function stopSignals(durationMs: number | undefined): { signal: AbortSignal; dispose(): void } {
  const ac = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => {
    if (ac.signal.aborted) {
      process.stderr.write(`\nmillrace ingest: second ${sig}; exiting without flushing\n`);
      process.exit(130);
    }
    process.stderr.write(
      `\nmillrace ingest: ${sig}; flushing what was accepted (again to exit now)\n`,
    );
    ac.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const timer = durationMs === undefined ? undefined : setTimeout(() => ac.abort(), durationMs);
  return {
    signal: ac.signal,
    dispose() {
      clearTimeout(timer);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

/**
 * A start-up step, retried for a minute while it fails retriably (a broker down, its
 * leaders and coordinators moving to the others), as an instance's start-up steps are;
 * each retry logged.
 */
function startupStep<T>(what: string, logger: IngestLogger, fn: () => Promise<T>): Promise<T> {
  return withRetries(what, fn, {
    forMs: 60_000,
    onRetry: (err, attempt) => logger.warn(`${what} failed; retrying`, { attempt, error: err }),
  });
}

/**
 * The app writes trades.clean and vwap.1m with the trades' event times; the broker deletes
 * records by timestamp against its own clock, so a backfill of old trades would be deleted
 * (7 days' retention by default) at its next retention check, before the sink loaded them.
 * Stamped with the time the broker appended them, they are kept as long as any topic's
 * records: the trade and window times are in the values.
 */
const EVENT_TIMED = new Set<string>([TOPICS.clean, TOPICS.vwap]);
const APPEND_TIME = { 'message.timestamp.type': 'LogAppendTime' };

async function prepare(s: IngestSettings, metrics: IngestMetrics, logger: IngestLogger) {
  const kafka = createKafka({ brokers: s.brokers, clientId: 'millrace-ingest' });
  // The pipeline's own topics too, so `millrace run apps/finnhub-vwap` can start next.
  const topics = [
    TOPICS.raw,
    TOPICS.finnhubDlq,
    TOPICS.clean,
    TOPICS.vwap,
    TOPICS.dlq,
    TOPICS.sinkDlq,
  ];
  const created = await startupStep('creating the topics', logger, () =>
    ensureTopics(
      kafka,
      topics.map((topic) => ({
        topic,
        partitions: s.partitions,
        ...(EVENT_TIMED.has(topic) ? { config: APPEND_TIME } : {}),
      })),
    ),
  ).catch((err: unknown) => {
    throw new KafkaUnreachable(s.brokers, err);
  });
  if (created.length) logger.info('created topics', { topics: created, partitions: s.partitions });
  const serde = await AvroRegistrySerde.create(
    s.registry,
    `${TOPICS.raw}-value`,
    loadSchema(path.join(SCHEMAS, 'trades-raw.avsc')),
  );
  const producer = new IngestProducer(kafkaBatchSender(kafka), {
    rawTopic: TOPICS.raw,
    dlqTopic: TOPICS.finnhubDlq,
    serialize: (m) => serde.serialize(m),
    metrics,
    logger,
  });
  await startupStep('connecting the producer', logger, () => producer.connect());
  return producer;
}

function report(
  s: IngestSettings,
  summary: SourceSummary | undefined,
  metrics: CountingMetrics,
  seconds: number,
) {
  const produced = metrics.producedByTopic.get(TOPICS.raw) ?? 0;
  process.stdout.write(
    JSON.stringify({
      event: 'ingest_done',
      source: s.source,
      seconds: Number(seconds.toFixed(3)),
      frames: summary?.frames ?? null,
      trades: metrics.trades,
      trade_messages_produced: produced,
      dead_lettered: metrics.deadLetteredTotal,
      reconnects: metrics.reconnects,
      backpressure_waits: metrics.backpressureWaits,
      trades_per_s: Math.round(metrics.trades / Math.max(seconds, 0.001)),
      messages_per_s: Math.round(produced / Math.max(seconds, 0.001)),
    }) + '\n',
  );
}

async function ingest(s: IngestSettings): Promise<number> {
  const logger = jsonLogger({ level: s.logLevel, base: { component: 'ingest' } });
  const prom = new Metrics();
  // Counted twice: for the summary line, and for Prometheus.
  const counts = new CountingMetrics();
  const metrics = teeMetrics(
    counts,
    ingestMetricsFor(prom, s.source, {
      reasons: REJECT_REASONS,
      topics: [TOPICS.raw, TOPICS.finnhubDlq],
    }),
  );
  const server =
    s.metricsPort === undefined
      ? undefined
      : await startServer(prom, processView(`ingest-${s.source}`, 'idempotent producer'), {
          port: s.metricsPort,
        });
  if (server) logger.info('metrics', { url: `${server.url}/metrics` });
  const producer = await prepare(s, metrics, logger).catch(async (err: unknown) => {
    await server?.close();
    throw err;
  });
  const start = s.source === 'synthetic' ? s.synthetic.startMs : undefined;
  if (start !== undefined && Date.now() - start > 6 * 86_400_000)
    logger.warn(
      'event time starts more than 6 days ago: the pipeline stamps its outputs (trades.clean, ' +
        'vwap.1m, window changelogs) with event time, and Kafka deletes records older than a ' +
        "topic's retention.ms (7 days by default) within minutes; use a recent --start or raise retention.ms",
      { start: new Date(start).toISOString() },
    );
  const source = buildSource(s, producer, metrics, logger);
  const t0 = performance.now();
  const seconds = () => (performance.now() - t0) / 1000;
  const stopCounter = startCounter(() => statusLine(s, counts, producer, seconds()), s.quiet);
  const stop = stopSignals(s.durationMs);
  let summary: SourceSummary | undefined;
  try {
    summary = await source.run(stop.signal);
    await producer.close();
  } catch (err) {
    await producer.close(5000).catch(() => undefined);
    throw err;
  } finally {
    stop.dispose();
    stopCounter();
    await server?.close();
  }
  report(s, summary, counts, seconds());
  return EXIT.ok;
}

export const ingestCommand: Command = {
  name: 'ingest',
  summary:
    'Feed trades.raw: Finnhub WebSocket (FINNHUB_TOKEN set), synthetic Finnhub-shaped trades, or a JSONL replay',
  usage:
    'millrace ingest [--source finnhub|synthetic|replay] [--symbols N|LIST] [--rate TRADES_PER_S|max] [--seed S] ' +
    '[--start EPOCH_MS|ISO | --deterministic] [--count FRAMES] [--max-speed | --catch-up] [--json-frames] [--file F.jsonl --speed X|max] ' +
    '[--duration 30s] [--partitions 8] [--brokers H:P,…] [--registry URL] [--log-level warn] [--metrics-port N] [--quiet]',
  async run(argv) {
    const a = parseArgs(argv, { values: VALUES, booleans: BOOLEANS });
    if (a.flags.help) return this.help();
    if (a.positionals.length)
      throw new UsageError(`unexpected argument ${a.positionals[0]}; see millrace ingest --help`);
    return ingest(settings(a));
  },
  help() {
    process.stdout.write(
      `${this.usage}\n\n${this.summary}.\n\n` +
        `Sources (default: finnhub when FINNHUB_TOKEN is set in the environment or ./.env, synthetic otherwise):\n` +
        `  finnhub    wss://ws.finnhub.io (FINNHUB_WS_URL), symbols from FINNHUB_SYMBOLS or --symbols AAPL,MSFT;\n` +
        `             reconnects with capped, jittered backoff and subscribes again; the token is never printed.\n` +
        `  synthetic  --symbols N (50) trading --rate trades/s (1000) of event time, seeded by --seed (42): duplicates,\n` +
        `             same-millisecond distinct trades, out-of-order, late, invalid and malformed messages. --rate max or\n` +
        `             --max-speed sends as fast as Kafka takes them (event time then runs ahead of the clock).\n` +
        `             --start T (or --deterministic: 2026-01-05T14:30Z) makes the output identical run to run:\n` +
        `             event time starts at T and ingest_timestamp is event time. --count N stops after N frames.\n` +
        `             --catch-up: what is behind the clock goes at full speed, the rest when the clock reaches\n` +
        `             it (with a past --start: a backfill that goes on live, one price walk).\n` +
        `  replay     --file recording.jsonl (one Finnhub message a line) at --speed 1 (original pace), 10, or max.\n\n` +
        `Produces each per-symbol trade message to ${TOPICS.raw} (key = symbol, Avro, Confluent framing, subject\n` +
        `${TOPICS.raw}-value) and unreadable frames to ${TOPICS.finnhubDlq} (original bytes, millrace.reason header),\n` +
        `with an idempotent producer (acks=all) and a bounded queue: a slow Kafka slows the source, never fills memory.\n` +
        `Creates ${TOPICS.raw}, ${TOPICS.finnhubDlq} and the pipeline's topics if absent (--partitions, default 8).\n` +
        `--metrics-port N (or MILLRACE_INGEST_METRICS_PORT) serves /metrics on 127.0.0.1 (0: a free port): messages,\n` +
        `trades, reconnects, dead letters, produced records and backpressure waits (millrace_ingest_*).\n` +
        `Stops after --duration, or on SIGINT/SIGTERM after flushing (a second signal exits at once).\n` +
        `Environment: MILLRACE_BOOTSTRAP_SERVERS, MILLRACE_REGISTRY_URL, MILLRACE_LOG_LEVEL, MILLRACE_TOPIC_PREFIX, FINNHUB_*.\n`,
    );
    return EXIT.ok;
  },
};
