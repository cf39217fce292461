/**
 * snowflake-sdk behind promises: building the connection options from config, logging in,
 * running one statement with positional binds, logging out.
 */
import snowflake from 'snowflake-sdk';
import type { SnowflakeSinkConfig } from './config.js';

/** A row as the driver returns it (column names as Snowflake reports them, upper case). */
export type DriverRow = Record<string, unknown>;

/** Driver connection options for a config (secrets included: never log the result). */
export function connectionOptions(cfg: SnowflakeSinkConfig): snowflake.ConnectionOptions {
  const opts: snowflake.ConnectionOptions = {
    account: cfg.account,
    username: cfg.username,
    warehouse: cfg.warehouse,
    database: cfg.database,
    schema: cfg.schema,
    role: cfg.role,
    // A sink may sit idle for hours between bursts; keep the session alive.
    clientSessionKeepAlive: true,
  };
  if (cfg.host) opts.accessUrl = `${cfg.protocol}://${cfg.host}${cfg.port ? `:${cfg.port}` : ''}`;
  if (cfg.auth.kind === 'password') opts.password = cfg.auth.password;
  else
    Object.assign(opts, {
      authenticator: 'SNOWFLAKE_JWT',
      privateKeyPath: cfg.auth.privateKeyPath,
      privateKeyPass: cfg.auth.privateKeyPassphrase,
    });
  return opts;
}

/** Logs in; rejects with the driver's error. */
export function connect(cfg: SnowflakeSinkConfig): Promise<snowflake.Connection> {
  snowflake.configure({ logLevel: cfg.driverLogLevel });
  const conn = snowflake.createConnection(connectionOptions(cfg));
  return new Promise((resolve, reject) =>
    conn.connect((err) => (err ? reject(err) : resolve(conn))),
  );
}

/** Runs one statement; resolves with its rows (DML: the affected-row counts). */
export function execute(
  conn: snowflake.Connection,
  sqlText: string,
  binds: ReadonlyArray<string | null> = [],
): Promise<DriverRow[]> {
  return new Promise((resolve, reject) =>
    conn.execute({
      sqlText,
      binds: binds.length ? binds : undefined,
      complete: (err, _stmt, rows) => (err ? reject(err) : resolve((rows ?? []) as DriverRow[])),
    }),
  );
}

/** Logs out (which also rolls back an open transaction); never rejects. */
export function destroy(conn: snowflake.Connection): Promise<void> {
  return new Promise((resolve) => {
    try {
      conn.destroy(() => resolve());
    } catch {
      resolve();
    }
  });
}
