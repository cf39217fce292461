/**
 * One contract, both warehouse sinks: DuckDB in a temp file, and Snowflake through
 * snowflake-sdk → the snowflake gateway (deploy/local/snowflake-gateway.ts) → fakesnow.
 *
 * Snowflake path — exercised verbatim between snowflake-sdk and fakesnow: login with a
 * password and with an encrypted key pair (the driver loads the key and signs the JWT;
 * fakesnow verifies no credential), the session token, statement requests with positional
 * binds, the execution of CREATE DATABASE/SCHEMA/TABLE IF NOT EXISTS, BEGIN/COMMIT/ROLLBACK,
 * and of the DELETE … USING and INSERT … SELECT FROM VALUES the sink upserts with (their
 * results are fakesnow's JSON), and the driver's own retry of refused connections.
 * Through the gateway's conversion: the result of every SELECT (readOffsets, readRows,
 * information_schema.columns, SHOW PRIMARY KEYS) and of DDL/BEGIN/COMMIT/ROLLBACK, which
 * fakesnow sends as Arrow and the gateway rewrites to Snowflake JSON; `returned` and the
 * output-format parameters the gateway adds to every result; and fakesnow's HTTP 500 for
 * statements DuckDB rejects (the NOT NULL violation, MERGE inside a transaction), which
 * the gateway turns into the SQL error Snowflake would send. The lock-timeout error in the
 * retry test is injected by a proxy in this file, not produced by fakesnow.
 *
 * What fakesnow cannot do, and how this suite deals with it:
 * - MERGE inside a transaction: fakesnow emulates MERGE with a temporary table, and DuckDB
 *   refuses to write two databases in one transaction. The contract runs the Snowflake sink
 *   with `upsert: 'delete-insert'` (same result, same transaction); the MERGE the sink
 *   builds by default is checked below on fakesnow in autocommit (it also needs a current
 *   schema there), and a test pins that merge mode inside a transaction fails cleanly.
 *   Real Snowflake runs both; merge mode's atomicity is therefore untested here.
 * - Constraint errors: a NOT NULL violation comes back as fakesnow's generic 261000, not
 *   Snowflake's 100072, so it is classified SINK_WRITE_FAILED here (SINK_CONSTRAINT on
 *   Snowflake); both are non-retriable and roll the batch back.
 * - fakesnow enforces PRIMARY KEY (DuckDB does); Snowflake does not — there only the sink's
 *   upsert keeps keys unique, which is what these tests assert.
 * - After a failed statement DuckDB aborts the transaction while Snowflake keeps it open;
 *   the sink issues ROLLBACK either way.
 * - `?::TYPE` does not parse in fakesnow (the sink casts VALUES columns, never placeholders).
 * - Credentials are not checked, so wrong-password handling is tested against an
 *   in-process stand-in (connectors/snowflake/auth.test.ts); DROP DATABASE does not exist,
 *   so cleanup drops the schema.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import snowflake from 'snowflake-sdk';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startGateway, type SnowflakeGateway } from '../../deploy/local/snowflake-gateway.js';
import { DuckDbSink } from '../../connectors/duckdb/index.js';
import { SnowflakeSink } from '../../connectors/snowflake/index.js';
import { mergeStatement } from '../../connectors/snowflake/statements.js';
import { prepareRows } from '../../connectors/warehouse/rows.js';
import {
  SinkError,
  TRADES_KEY_COLUMNS,
  tradesTable,
  type DedupeKey,
  type WarehouseSink,
} from '../../connectors/warehouse/index.js';
import { TRADES_PRIMARY_KEY } from '../../processors/market/trade.js';

snowflake.configure({ logLevel: 'OFF' });

const RUN = `${process.pid}_${Date.now() % 100_000}`;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'millrace-contract-'));
let gateway: SnowflakeGateway;
const snowflakeDatabases = new Set<string>();

interface Harness {
  name: 'duckdb' | 'snowflake';
  /** How the warehouse names the timestamp columns' type. */
  timestampType: string;
  /** A sink on the store named `store`: the same store means the same tables. */
  sink(
    store: string,
    dedupeKey: DedupeKey,
    extra?: { upsert?: 'merge' | 'delete-insert' },
  ): WarehouseSink;
}

const duckdb: Harness = {
  name: 'duckdb',
  timestampType: 'TIMESTAMP',
  sink: (store, dedupeKey) =>
    new DuckDbSink({ path: path.join(tmp, `${store}.duckdb`), dedupeKey }),
};

const snowflakeHarness: Harness = {
  name: 'snowflake',
  timestampType: 'TIMESTAMP_NTZ',
  sink: (store, dedupeKey, extra = {}) => {
    const database = `MR_${store.toUpperCase()}_${RUN}`;
    snowflakeDatabases.add(database);
    return new SnowflakeSink({
      env: snowflakeEnv(database),
      options: {
        dedupeKey,
        upsert: extra.upsert ?? 'delete-insert',
        createDatabase: true,
        retry: { attempts: 2, baseDelayMs: 10, maxDelayMs: 50 },
      },
    });
  },
};

function snowflakeEnv(database: string): Record<string, string> {
  return {
    SNOWFLAKE_ACCOUNT: 'millrace',
    SNOWFLAKE_USER: 'contract',
    SNOWFLAKE_PASSWORD: 'not-checked-by-fakesnow',
    SNOWFLAKE_DATABASE: database,
    SNOWFLAKE_SCHEMA: 'SINK',
    SNOWFLAKE_HOST: gateway.host,
    SNOWFLAKE_PORT: String(gateway.port),
    SNOWFLAKE_PROTOCOL: 'http',
  };
}

beforeAll(async () => {
  const fake = inject('snowflake');
  gateway = await startGateway({ port: 0, upstreamHost: fake.host, upstreamPort: fake.port });
});

afterAll(async () => {
  await dropSnowflakeSchemas();
  await gateway?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

async function dropSnowflakeSchemas(): Promise<void> {
  if (!snowflakeDatabases.size) return;
  const raw = await rawSnowflake();
  for (const db of snowflakeDatabases)
    await raw.exec(`DROP SCHEMA IF EXISTS ${db}.SINK CASCADE`).catch(() => {});
  await raw.close();
}

/** A plain snowflake-sdk connection through the gateway, for statements outside a sink. */
async function rawSnowflake(database?: string, schema?: string) {
  const conn = snowflake.createConnection({
    account: 'millrace',
    username: 'raw',
    password: 'x',
    accessUrl: `http://${gateway.host}:${gateway.port}`,
    database,
    schema,
  });
  await new Promise<void>((res, rej) => conn.connect((e) => (e ? rej(e) : res())));
  const exec = (sqlText: string, binds?: snowflake.Binds) =>
    new Promise<Array<Record<string, unknown>>>((res, rej) =>
      conn.execute({ sqlText, binds, complete: (e, _s, rows) => (e ? rej(e) : res(rows ?? [])) }),
    );
  const close = () => new Promise<void>((res) => conn.destroy(() => res()));
  return { exec, close };
}

const trade = (o: Record<string, unknown> = {}) => ({
  uuid: 'u-1',
  trade_conditions: '1,12',
  price: 7296.89,
  symbol: 'BINANCE:BTCUSDT',
  trade_timestamp: 1575526691134,
  ingest_timestamp: 1575526691200,
  volume: 0.011467,
  type: 'trade',
  ...o,
});

const vwap = (o: Record<string, unknown> = {}) => ({
  symbol: 'AAPL',
  window_start: 1575526680000,
  window_end: 1575526740000,
  vwap: 189.25,
  volume: 1200.5,
  trade_count: 3,
  open: 189,
  high: 190.125,
  low: 188.5,
  close: 189.5,
  ...o,
});

const bySymbol = (rows: Array<Record<string, unknown>>, prefix: string) =>
  rows.filter((r) => String(r.symbol).startsWith(prefix));

describe.each([duckdb, snowflakeHarness])('$name sink contract', (h) => {
  let sink: WarehouseSink;

  beforeAll(async () => {
    sink = h.sink('main', 'symbol+timestamp');
    await sink.open();
    await sink.ensureSchema();
  });

  afterAll(async () => {
    await sink?.close();
  });

  it('creates the tables idempotently, with TIMESTAMP columns', async () => {
    await sink.ensureSchema();
    await sink.ensureSchema();
    const cols = await sink.describeTable('trades');
    expect(cols.map((c) => c.name)).toEqual([
      'uuid',
      'trade_conditions',
      'price',
      'symbol',
      'trade_timestamp',
      'ingest_timestamp',
      'volume',
      'type',
    ]);
    expect(cols.find((c) => c.name === 'trade_timestamp')?.type).toBe(h.timestampType);
    expect(
      (await sink.describeTable('vwap_1m'))
        .filter((c) => c.type === h.timestampType)
        .map((c) => c.name),
    ).toEqual(['window_start', 'window_end']);
    expect(
      (await sink.describeTable('millrace_offsets')).find((c) => c.name === 'updated_at')?.type,
    ).toBe(h.timestampType);
  });

  it('returns the offsets a batch wrote, per sink id', async () => {
    expect(await sink.readOffsets('offsets-a')).toEqual(new Map());
    await sink.writeBatch(
      'offsets-a',
      [{ table: 'trades', rows: [trade({ symbol: 'OFF:1' })] }],
      new Map([
        ['trades.raw:0', 11],
        ['trades.raw:3', 7],
      ]),
    );
    await sink.writeBatch('offsets-b', [], new Map([['trades.raw:0', 99]]));
    await sink.writeBatch('offsets-a', [], new Map([['trades.raw:3', 8]]));
    expect(await sink.readOffsets('offsets-a')).toEqual(
      new Map([
        ['trades.raw:0', 11],
        ['trades.raw:3', 8],
      ]),
    );
    expect(await sink.readOffsets('offsets-b')).toEqual(new Map([['trades.raw:0', 99]]));
  });

  it('changes nothing when the same batch is replayed', async () => {
    const batch = [
      {
        table: 'trades',
        rows: [
          trade({ symbol: 'RPL:A' }),
          trade({ symbol: 'RPL:B', trade_conditions: null, type: null }),
        ],
      },
      {
        table: 'vwap_1m',
        rows: [
          vwap({ symbol: 'RPL:A' }),
          vwap({ symbol: 'RPL:B', vwap: null, trade_count: 0, volume: 0 }),
        ],
      },
    ];
    const offsets = new Map([['trades.raw:1', 42]]);
    await sink.writeBatch('replay', batch, offsets);
    const trades = bySymbol(await sink.readRows('trades'), 'RPL:');
    const windows = bySymbol(await sink.readRows('vwap_1m'), 'RPL:');
    await sink.writeBatch('replay', batch, offsets);
    await sink.writeBatch('replay', batch, offsets);
    expect(bySymbol(await sink.readRows('trades'), 'RPL:')).toEqual(trades);
    expect(bySymbol(await sink.readRows('vwap_1m'), 'RPL:')).toEqual(windows);
    expect(trades).toEqual([
      trade({ symbol: 'RPL:A' }),
      trade({ symbol: 'RPL:B', trade_conditions: null, type: null }),
    ]);
    expect(windows).toEqual([
      vwap({ symbol: 'RPL:A' }),
      vwap({ symbol: 'RPL:B', vwap: null, trade_count: 0, volume: 0 }),
    ]);
    expect(await sink.readOffsets('replay')).toEqual(offsets);
  });

  it('writes neither rows nor offsets when a statement fails midway', async () => {
    await sink.writeBatch(
      'midway',
      [{ table: 'trades', rows: [trade({ symbol: 'MID:0' })] }],
      new Map([['trades.raw:0', 5]]),
    );
    const before = await sink.readRows('trades');
    // trades upsert succeeds inside the transaction, then vwap_1m.volume (NOT NULL) rejects the row.
    const failing = sink.writeBatch(
      'midway',
      [
        {
          table: 'trades',
          rows: [trade({ symbol: 'MID:1' }), trade({ symbol: 'MID:0', price: 1 })],
        },
        {
          table: 'vwap_1m',
          rows: [vwap({ symbol: 'MID:1' }), vwap({ symbol: 'MID:2', volume: null })],
        },
      ],
      new Map([['trades.raw:0', 9]]),
    );
    await expect(failing).rejects.toBeInstanceOf(SinkError);
    await expect(failing).rejects.toMatchObject({
      retriable: false,
      code: h.name === 'duckdb' ? 'SINK_CONSTRAINT' : 'SINK_WRITE_FAILED',
    });
    expect(await sink.readRows('trades')).toEqual(before);
    expect(bySymbol(await sink.readRows('vwap_1m'), 'MID:')).toEqual([]);
    expect(await sink.readOffsets('midway')).toEqual(new Map([['trades.raw:0', 5]]));
  });

  it('rejects a malformed row before writing anything', async () => {
    const bad = sink.writeBatch(
      'malformed',
      [
        {
          table: 'trades',
          rows: [
            trade({ symbol: 'BAD:1' }),
            trade({ symbol: 'BAD:2', trade_timestamp: '2024-01-01' }),
          ],
        },
      ],
      new Map([['trades.raw:0', 1]]),
    );
    await expect(bad).rejects.toMatchObject({
      code: 'SINK_ROW_INVALID',
      domain: 'user',
      message: expect.stringMatching(
        /trades row 1: column trade_timestamp must be an integer epoch-millisecond timestamp/,
      ),
    });
    await expect(
      sink.writeBatch('malformed', [{ table: 'nope', rows: [] }], new Map()),
    ).rejects.toMatchObject({ code: 'SINK_UNKNOWN_TABLE' });
    expect(bySymbol(await sink.readRows('trades'), 'BAD:')).toEqual([]);
    expect(await sink.readOffsets('malformed')).toEqual(new Map());
  });

  it('updates a changed row in place', async () => {
    await sink.writeBatch(
      'update',
      [
        { table: 'trades', rows: [trade({ symbol: 'UPD:1' })] },
        { table: 'vwap_1m', rows: [vwap({ symbol: 'UPD:1' })] },
      ],
      new Map([['t:0', 1]]),
    );
    await sink.writeBatch(
      'update',
      [
        {
          table: 'trades',
          rows: [trade({ symbol: 'UPD:1', price: 7300.5, uuid: 'u-2', trade_conditions: null })],
        },
        {
          table: 'vwap_1m',
          rows: [vwap({ symbol: 'UPD:1', close: 191, high: 191, trade_count: 4 })],
        },
      ],
      new Map([['t:0', 2]]),
    );
    expect(bySymbol(await sink.readRows('trades'), 'UPD:')).toEqual([
      trade({ symbol: 'UPD:1', price: 7300.5, uuid: 'u-2', trade_conditions: null }),
    ]);
    expect(bySymbol(await sink.readRows('vwap_1m'), 'UPD:')).toEqual([
      vwap({ symbol: 'UPD:1', close: 191, high: 191, trade_count: 4 }),
    ]);
    expect(await sink.readOffsets('update')).toEqual(new Map([['t:0', 2]]));
  });

  it('round-trips timestamps to the millisecond, before 1970 and after 2038', async () => {
    const times = [-500, 0, 1575526691134, 2_147_483_648_001, 4_102_444_800_999];
    await sink.writeBatch(
      'times',
      [
        {
          table: 'trades',
          rows: times.map((t, i) =>
            trade({ symbol: `TS:${i}`, trade_timestamp: t, ingest_timestamp: t + 1 }),
          ),
        },
      ],
      new Map(),
    );
    const rows = bySymbol(await sink.readRows('trades'), 'TS:');
    expect(rows.map((r) => [r.trade_timestamp, r.ingest_timestamp])).toEqual(
      times.map((t) => [t, t + 1]),
    );
  });

  describe.each(['symbol+timestamp', 'content'] as const)('with the %s dedupe key', (key) => {
    let keyed: WarehouseSink;
    beforeAll(async () => {
      keyed = h.sink(key === 'content' ? 'content' : 'symts', key);
      await keyed.open();
      await keyed.ensureSchema();
    });
    afterAll(async () => keyed?.close());

    it('uses the dedupe key as the trades primary key', async () => {
      expect(TRADES_KEY_COLUMNS[key]).toEqual(TRADES_PRIMARY_KEY[key]);
      // Two distinct trades in the same millisecond, and one exact duplicate of the first.
      const a = trade({ symbol: 'PK:1', price: 10, volume: 1, uuid: 'a' });
      const b = trade({ symbol: 'PK:1', price: 10.5, volume: 2, uuid: 'b' });
      const a2 = trade({ symbol: 'PK:1', price: 10, volume: 1, uuid: 'a2' });
      await keyed.writeBatch('pk', [{ table: 'trades', rows: [a, b] }], new Map());
      await keyed.writeBatch('pk', [{ table: 'trades', rows: [a2] }], new Map());
      const rows = bySymbol(await keyed.readRows('trades'), 'PK:');
      if (key === 'symbol+timestamp') expect(rows).toEqual([a2]);
      else expect(rows.map((r) => r.uuid).sort()).toEqual(['a2', 'b']);
    });

    it('keeps a trade without conditions (stored as "" when conditions are part of the key)', async () => {
      await keyed.writeBatch(
        'pk',
        [{ table: 'trades', rows: [trade({ symbol: 'PK:NULL', trade_conditions: null })] }],
        new Map(),
      );
      const [row] = bySymbol(await keyed.readRows('trades'), 'PK:NULL');
      expect(row?.trade_conditions).toBe(key === 'content' ? '' : null);
    });

    it('refuses a trades table created with the other key', async () => {
      const store = `mm_${key === 'content' ? 'c' : 's'}`;
      const first = h.sink(store, key);
      await first.open();
      await first.ensureSchema();
      await first.close();
      const other = h.sink(store, key === 'content' ? 'symbol+timestamp' : 'content');
      await other.open();
      await expect(other.ensureSchema()).rejects.toMatchObject({
        code: 'SINK_SCHEMA_MISMATCH',
        message: expect.stringMatching(/primary key .* dedupe key needs/),
      });
      await other.close();
    });
  });
});

describe('snowflake sink specifics on fakesnow', () => {
  it("upserts with the MERGE it builds by default (run in autocommit: fakesnow's limit)", async () => {
    const db = `MR_MERGE_${RUN}`;
    const setup = snowflakeHarness.sink('merge', 'symbol+timestamp');
    await setup.open();
    await setup.ensureSchema();
    await setup.close();
    // fakesnow's MERGE needs a current database and schema (it creates a temp table there).
    const raw = await rawSnowflake(db, 'SINK');
    const spec = tradesTable('symbol+timestamp');
    const run = async (rows: Array<Record<string, unknown>>) => {
      const s = mergeStatement(`${db}.SINK.trades`, spec, prepareRows(spec, rows, 'snowflake'));
      return raw.exec(s.sqlText, s.binds);
    };
    expect(await run([trade({ symbol: 'M:1' }), trade({ symbol: 'M:2' })])).toEqual([
      { 'number of rows inserted': 2, 'number of rows updated': 0 },
    ]);
    expect(await run([trade({ symbol: 'M:1', price: 1.25 }), trade({ symbol: 'M:3' })])).toEqual([
      { 'number of rows inserted': 1, 'number of rows updated': 1 },
    ]);
    const rows = await raw.exec(`SELECT symbol, price FROM ${db}.SINK.trades ORDER BY symbol`);
    expect(rows).toEqual([
      { SYMBOL: 'M:1', PRICE: 1.25 },
      { SYMBOL: 'M:2', PRICE: 7296.89 },
      { SYMBOL: 'M:3', PRICE: 7296.89 },
    ]);
    await raw.close();
  });

  it('checks the primary key of its own schema when another schema of the database has the same tables', async () => {
    const db = `MR_TWOSCHEMAS_${RUN}`;
    snowflakeDatabases.add(db);
    const sinkIn = (schema: string, dedupeKey: DedupeKey) =>
      new SnowflakeSink({
        env: { ...snowflakeEnv(db), SNOWFLAKE_SCHEMA: schema },
        options: { dedupeKey, upsert: 'delete-insert', createDatabase: true },
      });
    const opened = async (schema: string, dedupeKey: DedupeKey) => {
      const sink = sinkIn(schema, dedupeKey);
      await sink.open();
      return sink;
    };
    const a = await opened('SINK', 'symbol+timestamp');
    await a.ensureSchema();
    // Another dedupe key in another schema: each table has its own primary key.
    const b = await opened('SINK_B', 'content');
    await b.ensureSchema();
    await b.writeBatch('two', [{ table: 'trades', rows: [trade({ symbol: 'TWO:1' })] }], new Map());
    expect(bySymbol(await b.readRows('trades'), 'TWO:')).toHaveLength(1);
    await a.ensureSchema();
    // A real mismatch in its own schema is still found.
    const wrong = await opened('SINK_B', 'symbol+timestamp');
    await expect(wrong.ensureSchema()).rejects.toMatchObject({
      code: 'SINK_SCHEMA_MISMATCH',
      message: expect.stringMatching(
        /SINK_B\.trades has primary key \(price, symbol, trade_conditions, trade_timestamp, volume\)/,
      ),
    });
    await Promise.all([a.close(), b.close(), wrong.close()]);
    const raw = await rawSnowflake();
    await raw.exec(`DROP SCHEMA IF EXISTS ${db}.SINK_B CASCADE`);
    await raw.close();
  });

  it('fails cleanly in merge mode, where fakesnow cannot MERGE inside a transaction', async () => {
    const sink = snowflakeHarness.sink('mergetxn', 'symbol+timestamp', { upsert: 'merge' });
    await sink.open();
    await sink.ensureSchema();
    await expect(
      sink.writeBatch('m', [{ table: 'trades', rows: [trade()] }], new Map([['t:0', 1]])),
    ).rejects.toMatchObject({ code: 'SINK_WRITE_FAILED', retriable: false });
    expect(await sink.readRows('trades')).toEqual([]);
    expect(await sink.readOffsets('m')).toEqual(new Map());
    await sink.close();
  });

  it('logs in with a key pair (the driver decrypts the PKCS#8 key and signs a JWT; fakesnow does not verify it)', async () => {
    const { privateKey } = crypto.generateKeyPairSync('rsa', {
      modulusLength: 2048,
      privateKeyEncoding: {
        type: 'pkcs8',
        format: 'pem',
        cipher: 'aes-256-cbc',
        passphrase: 'right-Phrase',
      },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    });
    const keyFile = path.join(tmp, 'rsa_key.p8');
    fs.writeFileSync(keyFile, privateKey, { mode: 0o600 });
    const env = (phrase: string) => {
      const { SNOWFLAKE_PASSWORD: _pw, ...rest } = snowflakeEnv(`MR_KEYPAIR_${RUN}`);
      return {
        ...rest,
        SNOWFLAKE_PRIVATE_KEY_PATH: keyFile,
        SNOWFLAKE_PRIVATE_KEY_PASSPHRASE: phrase,
      };
    };
    snowflakeDatabases.add(`MR_KEYPAIR_${RUN}`);
    const good = new SnowflakeSink({
      env: env('right-Phrase'),
      options: { createDatabase: true, upsert: 'delete-insert' },
    });
    await good.open();
    await good.ensureSchema();
    expect(await good.readOffsets('kp')).toEqual(new Map());
    await good.close();
    const bad = new SnowflakeSink({
      env: env('wrong-Phrase'),
      options: { retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 1 } },
    });
    const err = (await bad.open().catch((e: unknown) => e)) as SinkError;
    expect(err).toMatchObject({
      code: 'SINK_AUTH',
      retriable: false,
      message: expect.stringMatching(/SNOWFLAKE_PRIVATE_KEY_PASSPHRASE/),
    });
    expect(`${err.message} ${String((err.cause as Error)?.message)}`).not.toMatch(
      /wrong-Phrase|right-Phrase/,
    );
    await bad.close();
  });

  it('rides out a gateway outage (the driver retries connection failures itself)', async () => {
    const fake = inject('snowflake');
    const own = await startGateway({ port: 0, upstreamHost: fake.host, upstreamPort: fake.port });
    const sink = snowflakeSinkVia(own.port, 'outage', {
      attempts: 3,
      baseDelayMs: 100,
      maxDelayMs: 400,
    });
    await sink.open();
    await sink.ensureSchema();
    await own.close();
    own.server.closeAllConnections();
    const write = sink.writeBatch(
      'outage',
      [{ table: 'trades', rows: [trade({ symbol: 'OUT:1' })] }],
      new Map([['t:0', 3]]),
    );
    await new Promise((r) => setTimeout(r, 1500));
    const back = await startGateway({
      port: own.port,
      upstreamHost: fake.host,
      upstreamPort: fake.port,
    });
    await write;
    expect(await sink.readOffsets('outage')).toEqual(new Map([['t:0', 3]]));
    expect(bySymbol(await sink.readRows('trades'), 'OUT:')).toHaveLength(1);
    await sink.close();
    await back.close();
  });

  it('retries the whole batch after a transient error mid-transaction, writing it once', async () => {
    let failures = 1;
    const proxy = await faultProxy(
      gateway.port,
      (sql) => /^INSERT INTO \S+\.trades /.test(sql) && failures-- > 0,
    );
    const warnings: string[] = [];
    const sink = snowflakeSinkVia(
      proxy.port,
      'transient',
      { attempts: 3, baseDelayMs: 10, maxDelayMs: 50 },
      warnings,
    );
    await sink.open();
    await sink.ensureSchema();
    await sink.writeBatch(
      'transient',
      [{ table: 'trades', rows: [trade({ symbol: 'TR:1' }), trade({ symbol: 'TR:2' })] }],
      new Map([['t:0', 2]]),
    );
    expect(warnings).toEqual(['snowflake sink retrying SINK_UNAVAILABLE']);
    expect(bySymbol(await sink.readRows('trades'), 'TR:').map((r) => r.symbol)).toEqual([
      'TR:1',
      'TR:2',
    ]);
    expect(await sink.readOffsets('transient')).toEqual(new Map([['t:0', 2]]));
    await sink.close();
    await new Promise((r) => proxy.server.close(r));
  });
});

function snowflakeSinkVia(
  port: number,
  store: string,
  retry: { attempts: number; baseDelayMs: number; maxDelayMs: number },
  warnings: string[] = [],
): SnowflakeSink {
  const database = `MR_${store.toUpperCase()}_${RUN}`;
  snowflakeDatabases.add(database);
  return new SnowflakeSink({
    env: { ...snowflakeEnv(database), SNOWFLAKE_PORT: String(port) },
    options: { upsert: 'delete-insert', createDatabase: true, retry },
    log: {
      warn: (m, f) => warnings.push(`${m} ${String(f?.code)}`),
      info: () => {},
      debug: () => {},
    },
  });
}

/**
 * A proxy in front of the gateway that answers chosen statements with Snowflake's
 * lock-timeout error (000625), as a busy account would, and forwards everything else.
 */
async function faultProxy(
  targetPort: number,
  fail: (sqlText: string) => boolean,
): Promise<{ server: http.Server; port: number }> {
  const server = http.createServer(async (req, res) => {
    const body = Buffer.concat(await req.toArray());
    if (req.url?.startsWith('/queries/v1/query-request')) {
      const json = JSON.parse(
        (req.headers['content-encoding'] === 'gzip' ? zlib.gunzipSync(body) : body).toString(
          'utf8',
        ),
      ) as { sqlText: string };
      if (fail(json.sqlText)) {
        const error = {
          data: { errorCode: '000625', sqlState: '57014' },
          code: '000625',
          message: 'Statement has locked table TRADES in another transaction (injected)',
          success: false,
        };
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(error));
        return;
      }
    }
    const up = http.request(
      {
        host: '127.0.0.1',
        port: targetPort,
        method: req.method,
        path: req.url,
        headers: req.headers,
      },
      (upRes) => {
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        upRes.pipe(res);
      },
    );
    up.end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as AddressInfo).port };
}
