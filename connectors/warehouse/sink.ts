/**
 * The contract every warehouse sink (DuckDB, Snowflake) fulfils, and which the sink runner
 * (runtime/sink-runner.ts) relies on for "Kafka → warehouse" exactly-once style delivery:
 * rows and the source offsets they came from are committed in ONE warehouse transaction,
 * writes are upserts on the primary key so a replay changes nothing, and a restarted sink
 * resumes from the offsets stored in the warehouse.
 */

/** The rows of one table in one write. */
export interface TableRows {
  /** `trades` or `vwap_1m` (see tables.ts). */
  table: string;
  /**
   * Plain objects keyed by column name. Timestamps are epoch milliseconds (integers);
   * a missing property is NULL. Rows sharing a primary key: the last one wins.
   */
  rows: ReadonlyArray<Record<string, unknown>>;
}

/** Column of a table as the warehouse reports it (for checks and tests). */
export interface ColumnDescription {
  /** Lower-case column name. */
  name: string;
  /** The warehouse's own type name, upper case (`VARCHAR`, `TIMESTAMP_NTZ`, …). */
  type: string;
  nullable: boolean;
}

/**
 * A warehouse sink. Calls are serialised internally; use one instance per sink task.
 *
 * @example
 * const sink = new DuckDbSink({ path: 'data/millrace.duckdb' });
 * await sink.open();
 * await sink.ensureSchema();
 * const resumeAt = await sink.readOffsets('vwap-sink');         // Map { 'trades:0' => 1234 }
 * await sink.writeBatch('vwap-sink', [{ table: 'trades', rows }], new Map([['trades:0', 1300]]));
 * await sink.close();
 */
export interface WarehouseSink {
  /** `duckdb` or `snowflake`. */
  readonly kind: string;
  /** Connects (opens the file / logs in). Throws SinkError (`SINK_AUTH`, `SINK_UNAVAILABLE`, …). */
  open(): Promise<void>;
  /**
   * Creates the tables from `schemas/<kind>.sql` if they are absent (idempotent), then checks
   * that existing tables have the expected columns and primary key (`SINK_SCHEMA_MISMATCH`
   * names the table and what to do otherwise).
   */
  ensureSchema(): Promise<void>;
  /** Next offset to read per `"topic:partition"`, as last committed with rows by `sinkId`. */
  readOffsets(sinkId: string): Promise<Map<string, number>>;
  /**
   * In one transaction: upserts every table's rows on its primary key and upserts the
   * `millrace_offsets` rows (sink_id, topic, partition, next_offset, updated_at) for
   * `offsets`. All or nothing: on any error nothing is written and a SinkError is thrown
   * (`retriable` says whether the same call may succeed later). Replaying a batch leaves
   * the tables as they were.
   */
  writeBatch(
    sinkId: string,
    batches: ReadonlyArray<TableRows>,
    offsets: ReadonlyMap<string, number>,
  ): Promise<void>;
  /** Why `row` cannot be written to managed table `table`, or `undefined` (no warehouse call). */
  rowProblem(table: string, row: Record<string, unknown>): string | undefined;
  /**
   * Every row of a managed table ordered by primary key, timestamps as epoch ms, integers
   * as numbers. For inspection and tests; not meant for large tables.
   */
  readRows(table: string): Promise<Array<Record<string, unknown>>>;
  /** The columns of a managed table as the warehouse reports them, in table order. */
  describeTable(table: string): Promise<ColumnDescription[]>;
  /** Releases the connection / file. Safe to call twice. */
  close(): Promise<void>;
}
