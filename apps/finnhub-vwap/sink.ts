/**
 * The pipeline's warehouse sink: `trades.clean` → table `trades`, `vwap.1m` → table
 * `vwap_1m`, each batch of rows written with the source offsets it came from in one
 * warehouse transaction (runtime/sink-runner.ts). DuckDB is the default; Snowflake when
 * `SNOWFLAKE_ACCOUNT` is set (in the environment or `.env`) or asked for.
 *
 * @example
 *   const sink = await startPipelineSink({ brokers: ['127.0.0.1:9092'], registryUrl, log });
 *   // … later
 *   await sink.stop();
 */
import { createKafka } from '../../connectors/kafka/client.js';
import type { WarehouseSink } from '../../connectors/warehouse/index.js';
import type { DedupeKey } from '../../connectors/warehouse/tables.js';
import type { Logger } from '../../runtime/log.js';
import {
  SinkRunner,
  type MappedRow,
  type RejectedRecord,
  type RowMapper,
} from '../../runtime/sink-runner.js';
import { SerdeError } from '../../connectors/registry/errors.js';
import type { Trade, VwapWindow } from '../../processors/market/trade.js';
import { SERDES, TOPICS, serdes } from './app.js';

export type WarehouseKind = 'duckdb' | 'snowflake';

export interface PipelineSinkOptions {
  brokers: string[];
  registryUrl: string;
  /** Default: `snowflake` when `SNOWFLAKE_ACCOUNT` is set in `env`, else `duckdb`. */
  warehouse?: WarehouseKind;
  /** DuckDB file; default `data/millrace.duckdb`. */
  duckdbPath?: string;
  /** DuckDB's threads and checkpoint threshold (see DuckDbSinkConfigInput); defaults 1 and 64MB. */
  duckdb?: { threads?: number; checkpointThreshold?: string };
  /** Consumer group and key of the offsets in `millrace_offsets`; default `finnhub-vwap-sink`. */
  sinkId?: string;
  /** Must equal the processing app's dedupe key (the `trades` primary key); default `symbol+timestamp`. */
  dedupeKey?: DedupeKey;
  /** Where `SNOWFLAKE_*` come from; default `process.env`. */
  env?: Readonly<Record<string, string | undefined>>;
  log: Logger;
  /**
   * Where records the sink cannot read (not Avro, a schema id the registry never issued)
   * and rows their table refuses go, with the reason; default `warehouse.dlq` (with
   * MILLRACE_TOPIC_PREFIX), created on the first one. `null`: the sink stops on them.
   */
  deadLetterTopic?: string | null;
  /** Flush thresholds (rows, ms); defaults 5 000 rows or 500 ms. */
  maxRows?: number;
  maxDelayMs?: number;
  /** Consumer-group session timeout, ms; default 30 000 (see SinkRunnerOptions.sessionTimeout). */
  sessionTimeoutMs?: number;
  /** Bytes one fetch returns, in all / per partition; default 1 MiB / 256 KiB (see SinkRunnerOptions). */
  fetchMaxBytes?: number;
  maxPartitionFetchBytes?: number;
  onBatch?: (info: SinkBatchInfo) => void;
  /** Called for each record sent to the dead-letter topic. */
  onDeadLetter?: (d: { reason: string; source: string }) => void;
}

export interface SinkBatchInfo {
  rows: number;
  tables: Record<string, number>;
  seconds: number;
  /** `trade_timestamp` and `ingest_timestamp` of the trades written (epoch ms). */
  tradeTimestamps: number[];
  ingestTimestamps: number[];
}

export interface RunningPipelineSink {
  readonly sinkId: string;
  readonly warehouse: WarehouseSink;
  stop(): Promise<void>;
}

/**
 * The warehouse of `o`. Each driver is loaded only when it is the one chosen: snowflake-sdk
 * pulls in the AWS SDK (and its Node-version warning), DuckDB a native module, and neither
 * should weigh on `millrace --help` or on a sink that uses the other.
 */
export async function warehouseFor(o: PipelineSinkOptions): Promise<WarehouseSink> {
  const env = o.env ?? process.env;
  const kind = o.warehouse ?? (env.SNOWFLAKE_ACCOUNT ? 'snowflake' : 'duckdb');
  const dedupeKey = o.dedupeKey ?? 'symbol+timestamp';
  if (kind === 'snowflake') {
    const { SnowflakeSink } = await import('../../connectors/snowflake/index.js');
    return new SnowflakeSink({
      env,
      options: { dedupeKey },
      log: { warn: (m, f) => o.log.warn(m, f), info: (m, f) => o.log.info(m, f), debug: () => {} },
    });
  }
  const { DuckDbSink } = await import('../../connectors/duckdb/index.js');
  return new DuckDbSink({
    path: o.duckdbPath ?? 'data/millrace.duckdb',
    dedupeKey,
    ...(o.duckdb?.threads !== undefined ? { threads: o.duckdb.threads } : {}),
    ...(o.duckdb?.checkpointThreshold !== undefined
      ? { checkpointThreshold: o.duckdb.checkpointThreshold }
      : {}),
  });
}

/** Turns records of the two topics into rows (Avro decoded through the registry). */
export async function pipelineRowMapper(registryUrl: string): Promise<RowMapper> {
  const s = await serdes(registryUrl);
  const trade = s[SERDES.trade];
  const vwap = s[SERDES.vwap];
  // Synchronous unless a record names a schema not fetched yet (then once, asynchronously).
  const toRow = (topic: string, value: Buffer): MappedRow | RejectedRecord => {
    try {
      return topic === TOPICS.clean
        ? { table: 'trades', row: trade.deserialize(value) as Trade & Record<string, unknown> }
        : {
            table: 'vwap_1m',
            row: vwap.deserialize(value) as VwapWindow & Record<string, unknown>,
          };
    } catch (err) {
      // Bytes that are not the topic's Avro, or a schema id the registry never issued: no
      // retry reads them. Anything else (a registry that is down) stops the sink.
      if (err instanceof SerdeError && err.domain === 'user' && !err.retriable)
        return { deadLetter: 'deserialization_error', error: err };
      throw err;
    }
  };
  return (r) => {
    // No row in it, and no key of the tables to delete by (a record's key is its symbol).
    if (r.value === null)
      return {
        deadLetter: 'tombstone',
        error: new Error(`a record with no value (a tombstone) in ${r.topic} is not a row`),
      };
    const serde = r.topic === TOPICS.clean ? trade : vwap;
    // Fetches a schema id not seen yet (asking again while the registry is unreachable,
    // up to a minute); an id the registry does not know is left to deserialize to say so.
    const ready = serde.prepareFor(r.value);
    if (!ready) return toRow(r.topic, r.value);
    const value = r.value;
    return ready.then(() => toRow(r.topic, value));
  };
}

/** Opens the warehouse (creating its tables), then consumes until `stop()`. */
export async function startPipelineSink(
  o: PipelineSinkOptions,
  onFatal: (err: unknown) => void,
): Promise<RunningPipelineSink> {
  const sinkId = o.sinkId ?? 'finnhub-vwap-sink';
  const warehouse = await warehouseFor(o);
  await warehouse.open();
  await warehouse.ensureSchema();
  const map = await pipelineRowMapper(o.registryUrl);
  const kafka = createKafka({ brokers: o.brokers, clientId: sinkId });
  const runner = new SinkRunner(kafka, {
    sinkId,
    topics: [TOPICS.clean, TOPICS.vwap],
    target: warehouse,
    map,
    maxRows: o.maxRows,
    maxDelayMs: o.maxDelayMs,
    sessionTimeout: o.sessionTimeoutMs,
    fetchMaxBytes: o.fetchMaxBytes,
    maxPartitionFetchBytes: o.maxPartitionFetchBytes,
    ...(o.deadLetterTopic === null ? {} : { deadLetterTopic: o.deadLetterTopic ?? TOPICS.sinkDlq }),
    log: o.log,
    ...(o.onDeadLetter ? { onDeadLetter: o.onDeadLetter } : {}),
    onBatch: (b) => {
      const trades = b.batches.find((x) => x.table === 'trades')?.rows ?? [];
      o.onBatch?.({
        rows: b.rows,
        tables: b.tables,
        seconds: b.seconds,
        tradeTimestamps: trades.map((r) => Number(r.trade_timestamp)),
        ingestTimestamps: trades.map((r) => Number(r.ingest_timestamp)),
      });
    },
  });
  try {
    await runner.start(onFatal);
  } catch (err) {
    await warehouse.close().catch(() => {});
    throw err;
  }
  return {
    sinkId,
    warehouse,
    async stop() {
      await runner.stop();
      await warehouse.close();
    },
  };
}
