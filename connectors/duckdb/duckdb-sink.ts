/**
 * The embedded default warehouse: a DuckDB file (`data/millrace.duckdb`). Each
 * `writeBatch` is one DuckDB transaction: rows are appended to staging tables and upserted
 * with INSERT … ON CONFLICT DO UPDATE, then the offsets likewise, then COMMIT.
 */
import fs from 'node:fs';
import path from 'node:path';
import { DuckDBInstance, type DuckDBConnection, type DuckDBValue } from '@duckdb/node-api';
import { loadDdl } from '../warehouse/ddl.js';
import { SinkError } from '../warehouse/errors.js';
import {
  batchCells,
  managedTable,
  offsetsFromRows,
  rowProblem,
  type TableCells,
} from '../warehouse/batch.js';
import { Serial } from '../warehouse/serial.js';
import type { ColumnDescription, TableRows, WarehouseSink } from '../warehouse/sink.js';
import { OFFSETS_TABLE, warehouseTables, type TableSpec } from '../warehouse/tables.js';
import { verifyTable } from '../warehouse/verify.js';
import { duckDbSinkConfig, type DuckDbSinkConfig, type DuckDbSinkConfigInput } from './config.js';
import { classifyDuckDbError } from './errors.js';
import { createStaging, upsertViaStaging } from './staging.js';

/**
 * A {@link WarehouseSink} writing a DuckDB file.
 *
 * @example
 * const sink = new DuckDbSink({ path: 'data/millrace.duckdb', dedupeKey: 'content' });
 * await sink.open(); await sink.ensureSchema();
 */
export class DuckDbSink implements WarehouseSink {
  readonly kind = 'duckdb';
  /** The validated config, defaults filled in. */
  readonly config: DuckDbSinkConfig;
  private readonly tables: ReadonlyMap<string, TableSpec>;
  private readonly serial = new Serial();
  private instance?: DuckDBInstance;
  private conn?: DuckDBConnection;
  private staged = false;

  /** @throws SinkError `SINK_CONFIG_INVALID` */
  constructor(config: DuckDbSinkConfigInput = {}) {
    this.config = duckDbSinkConfig(config);
    this.tables = warehouseTables(this.config.dedupeKey);
  }

  async open(): Promise<void> {
    if (this.conn) return;
    const file = this.config.path;
    claimFile(file);
    try {
      if (file !== ':memory:') fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
      this.instance = await DuckDBInstance.create(file, {
        threads: String(this.config.threads),
        checkpoint_threshold: this.config.checkpointThreshold,
      });
      this.conn = await this.instance.connect();
    } catch (err) {
      releaseFile(file);
      throw classifyDuckDbError(err, `open ${file}`);
    }
  }

  ensureSchema(): Promise<void> {
    return this.serial.run(async () => {
      const conn = this.connection();
      try {
        for (const stmt of loadDdl(
          'duckdb.sql',
          { trades_primary_key: this.tables.get('trades')!.primaryKey.join(', ') },
          this.kind,
        ))
          await conn.run(stmt);
        for (const t of this.tables.values())
          verifyTable(
            t,
            await this.columnsOf(t.name),
            await this.primaryKeyOf(t.name),
            this.kind,
            this.config.path,
          );
        for (const t of this.tables.values()) await createStaging(conn, t);
        this.staged = true;
      } catch (err) {
        throw classifyDuckDbError(err, 'create the tables');
      }
    });
  }

  readOffsets(sinkId: string): Promise<Map<string, number>> {
    return this.serial.run(async () => {
      const rows = await this.select(
        `SELECT topic, partition, next_offset FROM main.${OFFSETS_TABLE.name} WHERE sink_id = $1`,
        [sinkId],
      );
      return offsetsFromRows(rows);
    });
  }

  writeBatch(
    sinkId: string,
    batches: ReadonlyArray<TableRows>,
    offsets: ReadonlyMap<string, number>,
  ): Promise<void> {
    return this.serial.run(async () => {
      const work = batchCells(this.tables, this.kind, { sinkId, batches, offsets });
      if (work.every((w) => !w.cells.length)) return;
      if (!this.staged)
        throw new SinkError('duckdb sink: call ensureSchema() before writeBatch()', {
          code: 'SINK_NOT_OPEN',
          domain: 'internal',
          sink: this.kind,
        });
      await this.inTransaction((conn) => this.upsertAll(conn, work));
    });
  }

  readRows(table: string): Promise<Array<Record<string, unknown>>> {
    const spec = this.table(table);
    return this.serial.run(async () => {
      const rows = await this.select(
        `SELECT * FROM main.${spec.name} ORDER BY ${spec.primaryKey.join(', ')}`,
      );
      return rows.map((r) =>
        Object.fromEntries(spec.columns.map((c) => [c.name, fromDuckDb(r[c.name])])),
      );
    });
  }

  describeTable(table: string): Promise<ColumnDescription[]> {
    return this.serial.run(() => this.columnsOf(this.table(table).name));
  }

  async close(): Promise<void> {
    await this.serial.run(async () => {
      // A checkpoint folds the write-ahead log into the file, so other tools see one file.
      await this.conn?.run('CHECKPOINT').catch(() => {});
      this.conn?.closeSync();
      this.instance?.closeSync();
      if (this.instance) releaseFile(this.config.path);
      this.conn = undefined;
      this.instance = undefined;
      this.staged = false;
    });
  }

  private async upsertAll(conn: DuckDBConnection, work: TableCells[]): Promise<void> {
    for (const w of work) await upsertViaStaging(conn, w.table, w.cells);
  }

  private async inTransaction(fn: (conn: DuckDBConnection) => Promise<void>): Promise<void> {
    const conn = this.connection();
    await conn.run('BEGIN TRANSACTION');
    try {
      await fn(conn);
      await conn.run('COMMIT');
    } catch (err) {
      await conn.run('ROLLBACK').catch(() => {});
      throw classifyDuckDbError(
        err,
        'write the batch (rolled back: no rows and no offsets were written)',
      );
    }
  }

  private async columnsOf(table: string): Promise<ColumnDescription[]> {
    const rows = await this.select(
      `SELECT column_name, data_type, is_nullable FROM information_schema.columns
       WHERE table_catalog = current_database() AND table_schema = 'main' AND table_name = $1 ORDER BY ordinal_position`,
      [table],
    );
    return rows.map((r) => ({
      name: String(r.column_name).toLowerCase(),
      type: String(r.data_type).toUpperCase(),
      nullable: r.is_nullable === 'YES',
    }));
  }

  private async primaryKeyOf(table: string): Promise<string[]> {
    const rows = await this.select(
      `SELECT constraint_column_names AS cols FROM duckdb_constraints()
       WHERE database_name = current_database() AND schema_name = 'main' AND table_name = $1 AND constraint_type = 'PRIMARY KEY'`,
      [table],
    );
    const cols = rows[0]?.cols as { items?: unknown[] } | undefined;
    return (cols?.items ?? []).map(String);
  }

  private async select(
    sql: string,
    params: string[] = [],
  ): Promise<Array<Record<string, DuckDBValue>>> {
    const stmt = await this.connection().prepare(sql);
    params.forEach((p, i) => stmt.bindVarchar(i + 1, p));
    return (await stmt.runAndReadAll()).getRowObjects();
  }

  rowProblem(table: string, row: Record<string, unknown>): string | undefined {
    return rowProblem(this.tables, this.kind, table, row);
  }

  private table(name: string): TableSpec {
    return managedTable(this.tables, name, this.kind);
  }

  private connection(): DuckDBConnection {
    if (!this.conn)
      throw new SinkError('duckdb sink: call open() first (or the sink was closed)', {
        code: 'SINK_NOT_OPEN',
        domain: 'internal',
        sink: this.kind,
      });
    return this.conn;
  }
}

// DuckDB's file lock is per process: a second instance here on the same file would open it
// and the two would corrupt it. So files open in this process are claimed.
const openFiles = new Set<string>();

function claimFile(file: string): void {
  if (file === ':memory:') return;
  const key = path.resolve(file);
  if (openFiles.has(key)) {
    throw new SinkError(
      `duckdb sink: ${key} is already open in this process; share that sink, or close it first`,
      { code: 'SINK_UNAVAILABLE', domain: 'user', sink: 'duckdb' },
    );
  }
  openFiles.add(key);
}

function releaseFile(file: string): void {
  openFiles.delete(path.resolve(file));
}

/** DuckDB values as plain JS: timestamps to epoch ms, BIGINT to number. */
function fromDuckDb(v: DuckDBValue | undefined): unknown {
  if (typeof v === 'bigint') return Number(v);
  if (v !== null && typeof v === 'object' && 'micros' in v)
    return Number((v as { micros: bigint }).micros / 1000n);
  return v;
}
