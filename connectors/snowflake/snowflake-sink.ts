/**
 * The Snowflake warehouse sink (snowflake-sdk). Each `writeBatch` is one Snowflake
 * transaction — BEGIN, one upsert per table chunk (MERGE from a bound multi-row VALUES
 * list, or DELETE + INSERT), the same for `millrace_offsets`, COMMIT — retried as a whole
 * on transient failures, which is safe because it is all-or-nothing and idempotent.
 */
import type snowflake from 'snowflake-sdk';
import { loadDdl } from '../warehouse/ddl.js';
import { SinkError } from '../warehouse/errors.js';
import { silentLogger, type SinkLogger } from '../warehouse/logger.js';
import { batchCells, managedTable, offsetsFromRows, rowProblem } from '../warehouse/batch.js';
import { Serial } from '../warehouse/serial.js';
import type { ColumnDescription, TableRows, WarehouseSink } from '../warehouse/sink.js';
import { OFFSETS_TABLE, warehouseTables, type TableSpec } from '../warehouse/tables.js';
import { verifyTable } from '../warehouse/verify.js';
import {
  secretsOf,
  snowflakeSinkConfig,
  type SnowflakeSinkConfig,
  type SnowflakeSinkOptions,
} from './config.js';
import { connect, connectionOptions, destroy, execute, type DriverRow } from './connection.js';
import { toSinkError } from './errors.js';
import { withRetry } from './retry.js';
import { upsertStatements, type BoundStatement } from './statements.js';

/** Construction options: a ready config, or the environment plus code options. */
export interface SnowflakeSinkInit {
  /** A config from {@link snowflakeSinkConfig}; default: read from `env`. */
  config?: SnowflakeSinkConfig;
  /** Where `SNOWFLAKE_*` come from when no config is given; default `process.env`. */
  env?: Readonly<Record<string, string | undefined>>;
  options?: SnowflakeSinkOptions;
  log?: SinkLogger;
}

/**
 * A {@link WarehouseSink} writing Snowflake.
 *
 * @example
 * // SNOWFLAKE_ACCOUNT, SNOWFLAKE_USER, SNOWFLAKE_PASSWORD, SNOWFLAKE_WAREHOUSE … in the environment
 * const sink = new SnowflakeSink({ options: { dedupeKey: 'content' } });
 * await sink.open(); await sink.ensureSchema();
 */
export class SnowflakeSink implements WarehouseSink {
  readonly kind = 'snowflake';
  /** The validated config. Holds secrets: never log it. */
  readonly config: SnowflakeSinkConfig;
  private readonly tables: ReadonlyMap<string, TableSpec>;
  private readonly secrets: string[];
  private readonly log: SinkLogger;
  private readonly serial = new Serial();
  private conn?: snowflake.Connection;
  private opened = false;

  /** @throws SinkError `SINK_CONFIG_INVALID` naming each bad variable. */
  constructor(init: SnowflakeSinkInit = {}) {
    this.config = init.config ?? snowflakeSinkConfig(init.env ?? process.env, init.options);
    this.tables = warehouseTables(this.config.dedupeKey);
    this.secrets = secretsOf(this.config);
    this.log = init.log ?? silentLogger;
  }

  open(): Promise<void> {
    return this.serial.run(async () => {
      this.opened = true;
      await this.retrying('log in', () => this.session());
    });
  }

  ensureSchema(): Promise<void> {
    return this.serial.run(() =>
      this.retrying('create the tables', async () => {
        const conn = await this.session();
        const vars = {
          database: this.config.database,
          schema: this.config.schema,
          trades_primary_key: this.tables.get('trades')!.primaryKey.join(', '),
        };
        const files = this.config.createDatabase
          ? ['snowflake-database.sql', 'snowflake.sql']
          : ['snowflake.sql'];
        for (const f of files)
          for (const stmt of loadDdl(f, vars, this.kind)) await execute(conn, stmt);
        for (const t of this.tables.values())
          verifyTable(
            t,
            await this.columnsOf(conn, t.name),
            await this.primaryKeyOf(conn, t.name),
            this.kind,
            `${this.config.database}.${this.config.schema}`,
          );
      }),
    );
  }

  readOffsets(sinkId: string): Promise<Map<string, number>> {
    return this.serial.run(() =>
      this.retrying('read offsets', async () => {
        const rows = await execute(
          await this.session(),
          `SELECT topic, partition, next_offset FROM ${this.qualified(OFFSETS_TABLE)} WHERE sink_id = ?`,
          [sinkId],
        );
        return offsetsFromRows(rows);
      }),
    );
  }

  writeBatch(
    sinkId: string,
    batches: ReadonlyArray<TableRows>,
    offsets: ReadonlyMap<string, number>,
  ): Promise<void> {
    return this.serial.run(async () => {
      const stmts = this.statementsFor(sinkId, batches, offsets);
      if (!stmts.length) return;
      await this.retrying(
        'write the batch (rolled back: no rows and no offsets were written)',
        () => this.inTransaction(stmts),
      );
    });
  }

  readRows(table: string): Promise<Array<Record<string, unknown>>> {
    const spec = this.table(table);
    return this.serial.run(() =>
      this.retrying(`read ${spec.name}`, async () => {
        const rows = await execute(
          await this.session(),
          `SELECT * FROM ${this.qualified(spec)} ORDER BY ${spec.primaryKey.join(', ')}`,
        );
        return rows.map((r) =>
          Object.fromEntries(
            spec.columns.map((c) => [c.name, fromDriver(r[c.name.toUpperCase()])]),
          ),
        );
      }),
    );
  }

  describeTable(table: string): Promise<ColumnDescription[]> {
    const spec = this.table(table);
    return this.serial.run(() =>
      this.retrying(`describe ${spec.name}`, async () =>
        this.columnsOf(await this.session(), spec.name),
      ),
    );
  }

  async close(): Promise<void> {
    await this.serial.run(async () => {
      this.opened = false;
      await this.dropSession();
    });
  }

  private statementsFor(
    sinkId: string,
    batches: ReadonlyArray<TableRows>,
    offsets: ReadonlyMap<string, number>,
  ): BoundStatement[] {
    const limits = {
      maxRows: this.config.maxRowsPerStatement,
      maxBytes: this.config.maxBytesPerStatement,
    };
    return batchCells(this.tables, this.kind, { sinkId, batches, offsets }).flatMap((w) =>
      upsertStatements(this.config.upsert, this.qualified(w.table), w.table, w.cells, limits),
    );
  }

  private async inTransaction(stmts: BoundStatement[]): Promise<void> {
    const conn = await this.session();
    try {
      await execute(conn, 'BEGIN');
      for (const s of stmts) await execute(conn, s.sqlText, s.binds);
      await execute(conn, 'COMMIT');
    } catch (err) {
      // Snowflake keeps a transaction open after a failed statement; end it here.
      await execute(conn, 'ROLLBACK').catch(() => {});
      throw err;
    }
  }

  /** Runs `fn` with retries; driver errors become SinkErrors, broken sessions are replaced. */
  private retrying<T>(doing: string, fn: () => Promise<T>): Promise<T> {
    const attempt = async () => {
      try {
        return await fn();
      } catch (err) {
        const e = toSinkError(err, doing, this.secrets);
        if (e.reconnect) await this.dropSession();
        throw e;
      }
    };
    return withRetry(attempt, this.config.retry, {
      onRetry: (err, retry, delayMs) =>
        this.log.warn('snowflake sink retrying', {
          doing,
          code: err.code,
          retry: retry + 1,
          delayMs,
          error: err.message,
        }),
    });
  }

  private async session(): Promise<snowflake.Connection> {
    if (!this.opened)
      throw new SinkError('snowflake sink: call open() first (or the sink was closed)', {
        code: 'SINK_NOT_OPEN',
        domain: 'internal',
        sink: this.kind,
      });
    if (this.conn?.isUp()) return this.conn;
    await this.dropSession();
    // The driver retries an unreachable account for minutes without a word: say where we go.
    this.log.info('snowflake sink logging in', this.target());
    this.conn = await connect(this.config);
    return this.conn;
  }

  private async dropSession(): Promise<void> {
    const conn = this.conn;
    this.conn = undefined;
    if (conn) await destroy(conn);
  }

  private async columnsOf(conn: snowflake.Connection, table: string): Promise<ColumnDescription[]> {
    const rows = await execute(
      conn,
      `SELECT column_name, data_type, is_nullable FROM ${this.config.database}.information_schema.columns WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position`,
      [this.config.schema.toUpperCase(), table.toUpperCase()],
    );
    return rows.map((r) => ({
      name: String(r.COLUMN_NAME).toLowerCase(),
      type: String(r.DATA_TYPE).toUpperCase(),
      nullable: r.IS_NULLABLE === 'YES',
    }));
  }

  private async primaryKeyOf(conn: snowflake.Connection, table: string): Promise<string[]> {
    const { database, schema } = this.config;
    const rows: DriverRow[] = await execute(
      conn,
      `SHOW PRIMARY KEYS IN TABLE ${database}.${schema}.${table}`,
    );
    return primaryKeyColumns(rows, { database, schema, table });
  }

  /** Where the sink logs in, without secrets. */
  private target(): Record<string, unknown> {
    const c = this.config;
    return {
      account: c.account,
      user: c.username,
      url: connectionOptions(c).accessUrl ?? `https://${c.account}.snowflakecomputing.com`,
      warehouse: c.warehouse,
      database: c.database,
      schema: c.schema,
      role: c.role,
      auth: c.auth.kind,
    };
  }

  private qualified(table: TableSpec): string {
    return `${this.config.database}.${this.config.schema}.${table.name}`;
  }

  rowProblem(table: string, row: Record<string, unknown>): string | undefined {
    return rowProblem(this.tables, this.kind, table, row);
  }

  private table(name: string): TableSpec {
    return managedTable(this.tables, name, this.kind);
  }
}

/** Driver values as plain JS: TIMESTAMP_NTZ (a Date read as UTC) to epoch ms. */
function fromDriver(v: unknown): unknown {
  return v instanceof Date ? v.getTime() : v;
}

/**
 * The key columns among SHOW PRIMARY KEYS rows that name this table. Snowflake answers only
 * for the table asked; fakesnow 0.12 answers for every table of that name in the session's
 * database, whatever the schema, so a second schema with our tables (another sink, another
 * dedupe key) would otherwise add its key columns to ours.
 */
export function primaryKeyColumns(
  rows: ReadonlyArray<DriverRow>,
  at: { database: string; schema: string; table: string },
): string[] {
  const same = (v: unknown, want: string) =>
    v === undefined || String(v).toUpperCase() === want.toUpperCase();
  return rows
    .filter(
      (r) =>
        same(r.database_name, at.database) &&
        same(r.schema_name, at.schema) &&
        same(r.table_name, at.table),
    )
    .map((r) => String(r.column_name ?? r.COLUMN_NAME));
}
