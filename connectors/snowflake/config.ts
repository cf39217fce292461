/**
 * Settings of the Snowflake sink: the connection from `SNOWFLAKE_*` environment variables,
 * the rest from code, all validated with zod. Errors name the variable and the fix, and
 * never echo a secret's value.
 */
import fs from 'node:fs';
import { z } from 'zod';
import { dedupeKeySchema, parseConfig } from '../warehouse/config.js';
import type { DedupeKey } from '../warehouse/tables.js';

/** How the sink logs in. */
export type SnowflakeAuth =
  | { kind: 'password'; password: string }
  | { kind: 'key-pair'; privateKeyPath: string; privateKeyPassphrase?: string };

/**
 * How rows are upserted: `merge` (default) — one MERGE per table chunk from a bound
 * multi-row VALUES source; `delete-insert` — DELETE the chunk's keys, then INSERT the
 * chunk. Both run inside the batch's transaction; `delete-insert` exists because fakesnow
 * cannot run MERGE inside a transaction (see test/integration/warehouse-contract.test.ts).
 */
export type UpsertStrategy = 'merge' | 'delete-insert';

export interface SnowflakeSinkConfig {
  /** `SNOWFLAKE_ACCOUNT`: account identifier, e.g. `myorg-myaccount`. */
  account: string;
  /** `SNOWFLAKE_USER`. */
  username: string;
  /** `SNOWFLAKE_PASSWORD`, or `SNOWFLAKE_PRIVATE_KEY_PATH` (+ `SNOWFLAKE_PRIVATE_KEY_PASSPHRASE`). */
  auth: SnowflakeAuth;
  /** `SNOWFLAKE_WAREHOUSE`: needed by real Snowflake to run DML. */
  warehouse?: string;
  /** `SNOWFLAKE_DATABASE`, default `MARKETS`. */
  database: string;
  /** `SNOWFLAKE_SCHEMA`, default `PUBLIC`. */
  schema: string;
  /** `SNOWFLAKE_ROLE`. */
  role?: string;
  /** `SNOWFLAKE_HOST` / `SNOWFLAKE_PORT` / `SNOWFLAKE_PROTOCOL`: point at an emulator or a proxy. */
  host?: string;
  port?: number;
  protocol: 'http' | 'https';
  /** `SNOWFLAKE_CREATE_DATABASE=true`: ensureSchema() also creates the database and schema. */
  createDatabase: boolean;
  /** `SNOWFLAKE_UPSERT`: `merge` (default) or `delete-insert`. */
  upsert: UpsertStrategy;
  /** Primary key of `trades`; default `symbol+timestamp`. */
  dedupeKey: DedupeKey;
  /** Most rows bound into one statement (default 1000; Snowflake allows 16,384 in VALUES). */
  maxRowsPerStatement: number;
  /** Most bound bytes (estimated) in one statement (default 1 MiB). */
  maxBytesPerStatement: number;
  /** Retries of transient failures (network, 5xx, 429, lock timeouts): attempts in all, capped exponential backoff with full jitter. */
  retry: { attempts: number; baseDelayMs: number; maxDelayMs: number };
  /**
   * snowflake-sdk's own log level (global to the process); default `OFF`: the sink reports
   * every failure itself, scrubbed of secrets, which the driver's own log lines are not
   * checked for. Turn it up to debug the driver.
   */
  driverLogLevel: 'ERROR' | 'WARN' | 'INFO' | 'DEBUG' | 'TRACE' | 'OFF';
}

/** Settings given in code; each has a default. */
export type SnowflakeSinkOptions = Partial<
  Pick<
    SnowflakeSinkConfig,
    | 'dedupeKey'
    | 'maxRowsPerStatement'
    | 'maxBytesPerStatement'
    | 'retry'
    | 'driverLogLevel'
    | 'upsert'
    | 'createDatabase'
  >
>;

const identifier = z
  .string()
  .regex(
    /^[A-Za-z_][A-Za-z0-9_$]*$/,
    'must be an unquoted Snowflake identifier (letters, digits, _ and $, not starting with a digit)',
  );
const blankToUndefined = (v: unknown) => (v === '' ? undefined : v);
const opt = <T extends z.ZodType>(s: T) => z.preprocess(blankToUndefined, s.optional());

const connectionSchema = z.object({
  SNOWFLAKE_ACCOUNT: z.preprocess(blankToUndefined, z.string({ error: 'is not set' })),
  SNOWFLAKE_USER: z.preprocess(blankToUndefined, z.string({ error: 'is not set' })),
  SNOWFLAKE_WAREHOUSE: opt(z.string()),
  SNOWFLAKE_DATABASE: opt(identifier),
  SNOWFLAKE_SCHEMA: opt(identifier),
  SNOWFLAKE_ROLE: opt(z.string()),
  SNOWFLAKE_HOST: opt(z.string()),
  SNOWFLAKE_PORT: opt(z.coerce.number().int().min(1).max(65535)),
  SNOWFLAKE_PROTOCOL: opt(z.enum(['http', 'https'])),
  SNOWFLAKE_CREATE_DATABASE: opt(z.enum(['true', 'false', '1', '0'])),
  SNOWFLAKE_UPSERT: opt(z.enum(['merge', 'delete-insert'])),
});

// A separate schema so its cross-field checks run (and report) even when other variables fail.
const authSchema = z
  .object({
    SNOWFLAKE_PASSWORD: opt(z.string()),
    SNOWFLAKE_PRIVATE_KEY_PATH: opt(z.string()),
    SNOWFLAKE_PRIVATE_KEY_PASSPHRASE: opt(z.string()),
  })
  .superRefine((e, ctx) => {
    const issue = (path: string, message: string) =>
      ctx.addIssue({ code: 'custom', path: [path], message });
    const key = e.SNOWFLAKE_PRIVATE_KEY_PATH;
    if (e.SNOWFLAKE_PASSWORD === undefined && key === undefined)
      issue(
        'SNOWFLAKE_PASSWORD',
        'neither SNOWFLAKE_PASSWORD nor SNOWFLAKE_PRIVATE_KEY_PATH is set',
      );
    else if (e.SNOWFLAKE_PASSWORD !== undefined && key !== undefined)
      issue(
        'SNOWFLAKE_PRIVATE_KEY_PATH',
        'both SNOWFLAKE_PASSWORD and SNOWFLAKE_PRIVATE_KEY_PATH are set',
      );
    else if (key !== undefined && !readable(key))
      issue('SNOWFLAKE_PRIVATE_KEY_PATH', `cannot read ${key}`);
  });

const envSchema = z.intersection(connectionSchema, authSchema);

const optionsSchema = z.strictObject({
  dedupeKey: dedupeKeySchema.default('symbol+timestamp'),
  maxRowsPerStatement: z.number().int().min(1).max(16_384).default(1000),
  maxBytesPerStatement: z
    .number()
    .int()
    .min(1024)
    .default(1 << 20),
  retry: z
    .strictObject({
      attempts: z.number().int().min(1),
      baseDelayMs: z.number().min(0),
      maxDelayMs: z.number().min(0),
    })
    .default({ attempts: 6, baseDelayMs: 200, maxDelayMs: 10_000 }),
  driverLogLevel: z.enum(['ERROR', 'WARN', 'INFO', 'DEBUG', 'TRACE', 'OFF']).default('OFF'),
  upsert: z.enum(['merge', 'delete-insert']).optional(),
  createDatabase: z.boolean().optional(),
});

const FIXES: Record<string, string> = {
  SNOWFLAKE_ACCOUNT: 'set it to your account identifier, e.g. myorg-myaccount',
  SNOWFLAKE_USER: 'set it to the user the sink logs in as',
  SNOWFLAKE_PASSWORD: 'set SNOWFLAKE_PASSWORD, or SNOWFLAKE_PRIVATE_KEY_PATH for key-pair auth',
  SNOWFLAKE_PRIVATE_KEY_PATH:
    'set exactly one of SNOWFLAKE_PASSWORD and SNOWFLAKE_PRIVATE_KEY_PATH, and make the key file readable (PEM, PKCS#8)',
  SNOWFLAKE_DATABASE: 'e.g. MARKETS',
  SNOWFLAKE_SCHEMA: 'e.g. PUBLIC',
  SNOWFLAKE_PORT: 'set a port between 1 and 65535, or unset it',
  SNOWFLAKE_PROTOCOL: 'use http (emulators only) or https',
  SNOWFLAKE_CREATE_DATABASE: 'use true or false',
  SNOWFLAKE_UPSERT: 'use merge or delete-insert',
};

function readable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.R_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Reads the connection from `env` and the rest from `options`.
 * @throws SinkError `SINK_CONFIG_INVALID` listing every bad variable with its fix.
 * @example snowflakeSinkConfig(process.env, { dedupeKey: 'content' })
 */
export function snowflakeSinkConfig(
  env: Readonly<Record<string, string | undefined>> = process.env,
  options: SnowflakeSinkOptions = {},
): SnowflakeSinkConfig {
  const e = parseConfig(envSchema, env, 'snowflake', (p) => p, FIXES);
  const o = parseConfig(optionsSchema, options, 'snowflake', (p) => `options.${p}`);
  return {
    account: e.SNOWFLAKE_ACCOUNT,
    username: e.SNOWFLAKE_USER,
    auth: authOf(e),
    warehouse: e.SNOWFLAKE_WAREHOUSE,
    database: e.SNOWFLAKE_DATABASE ?? 'MARKETS',
    schema: e.SNOWFLAKE_SCHEMA ?? 'PUBLIC',
    role: e.SNOWFLAKE_ROLE,
    host: e.SNOWFLAKE_HOST,
    port: e.SNOWFLAKE_PORT,
    protocol: e.SNOWFLAKE_PROTOCOL ?? 'https',
    createDatabase:
      o.createDatabase ??
      (e.SNOWFLAKE_CREATE_DATABASE === 'true' || e.SNOWFLAKE_CREATE_DATABASE === '1'),
    upsert: o.upsert ?? e.SNOWFLAKE_UPSERT ?? 'merge',
    dedupeKey: o.dedupeKey,
    maxRowsPerStatement: o.maxRowsPerStatement,
    maxBytesPerStatement: o.maxBytesPerStatement,
    retry: o.retry,
    driverLogLevel: o.driverLogLevel,
  };
}

function authOf(e: z.output<typeof envSchema>): SnowflakeAuth {
  if (e.SNOWFLAKE_PRIVATE_KEY_PATH !== undefined) {
    const auth = { kind: 'key-pair' as const, privateKeyPath: e.SNOWFLAKE_PRIVATE_KEY_PATH };
    const phrase = e.SNOWFLAKE_PRIVATE_KEY_PASSPHRASE;
    return phrase === undefined ? auth : hidden(auth, 'privateKeyPassphrase', phrase);
  }
  return hidden({ kind: 'password' as const }, 'password', e.SNOWFLAKE_PASSWORD!);
}

/** Adds a secret as a non-enumerable property: logging or JSON-encoding a config leaves it out. */
function hidden<T extends object, K extends string>(
  obj: T,
  key: K,
  value: string,
): T & Record<K, string> {
  return Object.defineProperty(obj, key, { value, enumerable: false }) as T & Record<K, string>;
}

/** The secret values of a config, for redaction. */
export function secretsOf(cfg: SnowflakeSinkConfig): string[] {
  return cfg.auth.kind === 'password'
    ? [cfg.auth.password]
    : cfg.auth.privateKeyPassphrase
      ? [cfg.auth.privateKeyPassphrase]
      : [];
}
