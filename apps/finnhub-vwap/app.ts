/**
 * finnhub-vwap: Finnhub trades → validate → dedupe → tumbling-window VWAP.
 *
 *   trades.raw (Avro, key = symbol)
 *     → ingest (explode-trades)   one trade per entry of a Finnhub message
 *     → validate (validate-trade) rule breakers → trades.dlq with the rule's name
 *     → dedupe (dedupe-trades)    first occurrence of the key wins (window store + changelog)
 *     → trades.clean (Avro)                                   → sink: trades table
 *     → vwap (vwap)               1-minute windows, grace 10 s, final results only
 *     → vwap.1m (Avro)                                        → sink: vwap_1m table
 *     → vwap-last (reduce)        the last closed window per symbol (a table, for queries)
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AvroRegistrySerde, loadSchema } from '../../connectors/registry/avro-serde.js';
import '../../processors/index.js';
import type { DedupeKeyKind, VwapWindow } from '../../processors/market/trade.js';
import { TopologyBuilder, type BuiltTopology } from '../../topology/index.js';

export const applicationId = 'finnhub-vwap';

/**
 * The pipeline's topics. `MILLRACE_TOPIC_PREFIX` (e.g. `staging.`) prefixes them all, so
 * several copies of the pipeline (or test runs) can share a cluster.
 */
const PREFIX = process.env.MILLRACE_TOPIC_PREFIX ?? '';
export const TOPICS = {
  raw: `${PREFIX}trades.raw`,
  clean: `${PREFIX}trades.clean`,
  vwap: `${PREFIX}vwap.1m`,
  dlq: `${PREFIX}trades.dlq`,
  finnhubDlq: `${PREFIX}finnhub.dlq`,
  /** Records of trades.clean and vwap.1m the warehouse sink cannot read. */
  sinkDlq: `${PREFIX}warehouse.dlq`,
} as const;

/** Serde names: the Avro serdes are bound to the schema registry when the app runs. */
export const SERDES = { raw: 'avro:trades-raw', trade: 'avro:trade', vwap: 'avro:vwap' } as const;

export interface PipelineOptions {
  /** `symbol+timestamp` (default; the original trades primary key) or `content`. */
  dedupeKey: DedupeKeyKind;
  dedupeRetentionMs: number;
  windowSizeMs: number;
  graceMs: number;
  maxClockSkewMs?: number;
  /**
   * Trades more than this ahead of their ingest time go to trades.dlq as
   * `timestamp_in_future` (default a day; `undefined` turns the rule off). Without it, one
   * trade stamped a year ahead (a bad clock, microseconds sent as milliseconds) moves the
   * VWAP windows' clock a year on: every trade after it is late and no window closes.
   */
  maxFutureMs?: number;
  idleCloseMs?: number;
}

export const defaults: PipelineOptions = {
  dedupeKey: 'symbol+timestamp',
  dedupeRetentionMs: 600_000,
  windowSizeMs: 60_000,
  graceMs: 10_000,
  maxFutureMs: 86_400_000,
};

export function topology(options: Partial<PipelineOptions> = {}): BuiltTopology {
  const o = { ...defaults, ...options };
  const b = new TopologyBuilder('finnhub-vwap');
  const clean = b
    .stream(TOPICS.raw, { key: 'string', value: SERDES.raw }, 'trades-raw')
    .process('explode-trades', { name: 'ingest' })
    .process('validate-trade', {
      name: 'validate',
      options: {
        ...(o.maxClockSkewMs === undefined ? {} : { maxClockSkewMs: o.maxClockSkewMs }),
        ...(o.maxFutureMs === undefined ? {} : { maxFutureMs: o.maxFutureMs }),
      },
    })
    .process('dedupe-trades', {
      name: 'dedupe',
      options: { key: o.dedupeKey, store: 'dedupe-store', retentionMs: o.dedupeRetentionMs },
      stores: ['dedupe-store'],
    });
  clean.to(TOPICS.clean, { key: 'string', value: SERDES.trade }, 'trades-clean');
  const windows = clean.process<string, VwapWindow>('vwap', {
    name: 'vwap',
    options: {
      store: 'vwap-store',
      sizeMs: o.windowSizeMs,
      graceMs: o.graceMs,
      ...(o.idleCloseMs === undefined ? {} : { idleCloseMs: o.idleCloseMs }),
    },
    stores: ['vwap-store'],
  });
  windows.to(TOPICS.vwap, { key: 'string', value: SERDES.vwap }, 'vwap-1m');
  // The last closed window of each symbol, for interactive queries (vwap-last-store); the
  // open windows are in vwap-store.
  windows
    .groupByKey({ keySerde: 'string', valueSerde: SERDES.vwap })
    .reduce((last, w) => (w.window_start >= last.window_start ? w : last), { name: 'vwap-last' });
  return b.build();
}

const schemas = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../schemas');

/** The Avro serdes, registered under `<topic>-value` in the schema registry at `registryUrl`. */
export async function serdes(registryUrl: string) {
  return {
    [SERDES.raw]: await AvroRegistrySerde.create(
      registryUrl,
      `${TOPICS.raw}-value`,
      loadSchema(path.join(schemas, 'trades-raw.avsc')),
    ),
    [SERDES.trade]: await AvroRegistrySerde.create(
      registryUrl,
      `${TOPICS.clean}-value`,
      loadSchema(path.join(schemas, 'trade.avsc')),
    ),
    [SERDES.vwap]: await AvroRegistrySerde.create(
      registryUrl,
      `${TOPICS.vwap}-value`,
      loadSchema(path.join(schemas, 'vwap.avsc')),
    ),
  };
}

/**
 * Settings the app brings to the streams config (MILLRACE_* variables and `millrace run`
 * flags override them). Each dedupe key is new, so the dedupe stores' write caches fill
 * with keys read at most once more: 5,000 entries per store instead of 10,000 kept the
 * instance's peak RSS at 274–280 MiB instead of 289–300 with no loss of throughput (hand
 * runs of `BENCH_CASES=throughput-1 npm run bench:pipeline`, two each, alternated). Fetches
 * of 256 KiB per partition, not the engine's default 1 MiB: with 1 MiB the instance's peak
 * RSS was 427–680 MiB instead of 296–394 (three runs each) for about the same sustained rate
 * (36.9–38.3 k trades/s against 36.2–37.1 k; the sink sets the pace).
 */
export const streamsDefaults = {
  processingGuarantee: 'exactly_once' as const,
  deadLetterTopic: TOPICS.dlq,
  cacheMaxEntries: 5000,
  maxPartitionFetchBytes: 256 << 10,
};
