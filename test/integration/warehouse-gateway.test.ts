/**
 * snowflake-sdk → snowflake gateway → fakesnow, end to end.
 *
 * Exercised verbatim against fakesnow: login, session token handling, statement requests
 * with positional binds, the execution of DDL, BEGIN/COMMIT/ROLLBACK, INSERT and SELECT.
 * Through the gateway's conversion: every non-DML result (CREATE/BEGIN/COMMIT/ROLLBACK
 * status rows and SELECT rows), which fakesnow sends as Arrow and the gateway rewrites to
 * Snowflake JSON; INSERT results are fakesnow's JSON, to which the gateway adds only
 * `returned` and the output-format parameters; the NOT NULL violation below is fakesnow's
 * HTTP 500, which the gateway turns into the SQL error Snowflake would send.
 */
import snowflake from 'snowflake-sdk';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startGateway, type SnowflakeGateway } from '../../deploy/local/snowflake-gateway.js';

snowflake.configure({ logLevel: 'ERROR' });

const DB = `GW_TEST_${process.pid}`;
let gateway: SnowflakeGateway;
let conn: snowflake.Connection;

function exec(sqlText: string, binds?: snowflake.Binds): Promise<Record<string, unknown>[]> {
  return new Promise((resolve, reject) =>
    conn.execute({
      sqlText,
      binds,
      complete: (err, _stmt, rows) =>
        err ? reject(err) : resolve((rows ?? []) as Record<string, unknown>[]),
    }),
  );
}

beforeAll(async () => {
  const fake = inject('snowflake');
  gateway = await startGateway({ port: 0, upstreamPort: fake.port, upstreamHost: fake.host });
  conn = snowflake.createConnection({
    account: 'millrace',
    username: 'test',
    password: 'test',
    host: gateway.host,
    port: gateway.port,
    protocol: 'http',
  } as snowflake.ConnectionOptions);
  await new Promise<void>((resolve, reject) =>
    conn.connect((err) => (err ? reject(err) : resolve())),
  );
  await exec(`CREATE DATABASE IF NOT EXISTS ${DB}`);
  await exec(`CREATE SCHEMA IF NOT EXISTS ${DB}.GW`);
  await exec(`USE SCHEMA ${DB}.GW`);
});

afterAll(async () => {
  // fakesnow has no DROP DATABASE (DuckDB detaches databases instead); the schema goes.
  await exec(`DROP SCHEMA IF EXISTS ${DB}.GW CASCADE`).catch(() => {});
  await new Promise<void>((resolve) => conn?.destroy(() => resolve()));
  await gateway?.close();
});

describe('snowflake-sdk through the gateway to fakesnow', () => {
  it('creates a table with the column types the sinks use', async () => {
    const rows = await exec(
      'CREATE OR REPLACE TABLE T (S STRING, D DOUBLE, N NUMBER(38,0), TS TIMESTAMP_NTZ, B BOOLEAN)',
    );
    expect(rows).toEqual([{ status: 'Table T successfully created.' }]);
  });

  it('inserts with bound parameters in BEGIN/COMMIT and reads exact values back', async () => {
    expect(await exec('BEGIN')).toEqual([{ status: 'Statement executed successfully.' }]);
    // CAST(? AS …), not ?::…: fakesnow's parser rejects a cast right after a placeholder.
    const insert =
      'INSERT INTO T (S, D, N, TS, B) VALUES (?, CAST(? AS DOUBLE), CAST(? AS NUMBER(38,0)), CAST(? AS TIMESTAMP_NTZ), CAST(? AS BOOLEAN))';
    expect(
      await exec(insert, [
        'BINANCE:BTCUSDT',
        '7296.89',
        '9007199254740991',
        '2019-12-05 06:18:11.134',
        'true',
      ]),
    ).toEqual([{ 'number of rows inserted': 1 }]);
    await exec(insert, ['AAPL', '0.1', '-42', '1969-12-31 23:59:59.5', 'false']);
    await exec(insert, ['NULLS', null, null, null, null]);
    await exec('COMMIT');

    const rows = await exec('SELECT S, D, N, TS, B FROM T ORDER BY S');
    expect(
      rows.map((r) => ({ ...r, TS: r.TS === null ? null : (r.TS as Date).getTime() })),
    ).toEqual([
      { S: 'AAPL', D: 0.1, N: -42, TS: -500, B: false },
      { S: 'BINANCE:BTCUSDT', D: 7296.89, N: 9007199254740991, TS: 1575526691134, B: true },
      { S: 'NULLS', D: null, N: null, TS: null, B: null },
    ]);
  });

  it('reads aggregates and empty results', async () => {
    expect(await exec('SELECT COUNT(*) AS C, MAX(D) AS M FROM T')).toEqual([{ C: 3, M: 7296.89 }]);
    expect(await exec('SELECT S FROM T WHERE S = ?', ['nope'])).toEqual([]);
  });

  it('leaves no rows after ROLLBACK', async () => {
    await exec('CREATE OR REPLACE TABLE R (S STRING)');
    await exec('BEGIN');
    await exec('INSERT INTO R (S) VALUES (?)', ['gone']);
    expect(await exec('SELECT COUNT(*) AS C FROM R')).toEqual([{ C: 1 }]);
    await exec('ROLLBACK');
    expect(await exec('SELECT COUNT(*) AS C FROM R')).toEqual([{ C: 0 }]);
  });

  it('reports a rejected statement as a SQL error at once, not after minutes of retries', async () => {
    await exec('CREATE OR REPLACE TABLE NN (S STRING NOT NULL)');
    const t0 = Date.now();
    await expect(exec('INSERT INTO NN (S) VALUES (?)', [null])).rejects.toMatchObject({
      code: '261000',
    });
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(await exec('SELECT COUNT(*) AS C FROM NN')).toEqual([{ C: 0 }]);
  });
});
