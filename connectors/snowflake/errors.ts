/**
 * Maps snowflake-sdk's errors to SinkErrors: whose fault, whether a retry can help, and a
 * fix — with any secret scrubbed from whatever the driver said.
 */
import {
  redact,
  SinkError,
  type SinkErrorCode,
  type SinkErrorDomain,
} from '../warehouse/errors.js';

/** The fields of a snowflake-sdk error the classification reads. */
interface DriverError {
  name?: string;
  code?: string | number;
  message?: string;
  sqlState?: string;
  response?: { statusCode?: number };
}

// Login codes that mean the session is gone rather than the credentials wrong: log in again.
const SESSION_GONE = new Set(['390104', '390112', '390114', '401004']);
// SQL codes that mean the user or role may not do this, or cannot see the object.
const PERMISSION = new Set(['003001', '002003', '003540', '002043']);
// A statement cancelled, timed out or blocked on a lock: the same statement may succeed later.
const TRANSIENT_SQL = new Set(['000604', '000625', '000630']);
// Data rejected by a column: NULL in NOT NULL, numbers or timestamps that do not parse.
const CONSTRAINT = new Set(['100072', '100038', '100035', '100040', '100097']);
const NODE_NETWORK = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTFOUND',
  'ECONNABORTED',
  'EHOSTUNREACH',
]);

/** What the classification decided, before it becomes a SinkError. */
export interface Classified {
  code: SinkErrorCode;
  domain: SinkErrorDomain;
  retriable: boolean;
  /** The session must be replaced before retrying. */
  reconnect: boolean;
  fix: string;
}

const unavailable = (fix: string, reconnect = false): Classified => ({
  code: 'SINK_UNAVAILABLE',
  domain: 'external',
  retriable: true,
  reconnect,
  fix,
});

const refused = (code: SinkErrorCode, fix: string): Classified => ({
  code,
  domain: 'user',
  retriable: false,
  reconnect: false,
  fix,
});

/** An HTTP failure of the driver's request: refused credentials, or a server to retry. */
const httpFailure = (status: number | undefined): Classified =>
  status === 401 || status === 403
    ? refused('SINK_AUTH', 'check SNOWFLAKE_USER and its password or key')
    : unavailable(`Snowflake answered HTTP ${status ?? '?'}; retrying`, true);

/** The first rule whose test holds decides; the order matters (network before HTTP, …). */
const RULES: Array<[(e: DriverError, code: string) => boolean, (e: DriverError) => Classified]> = [
  [
    (e, code) => e.name === 'NetworkError' || code === '401001' || NODE_NETWORK.has(code),
    () =>
      unavailable(
        'Snowflake could not be reached; check the network and SNOWFLAKE_ACCOUNT / SNOWFLAKE_HOST',
        true,
      ),
  ],
  [
    (_, code) => SESSION_GONE.has(code),
    () => unavailable('the session expired; the sink logs in again', true),
  ],
  [
    (e, code) => e.name === 'RequestFailedError' || code === '401002',
    (e) => httpFailure(e.response?.statusCode),
  ],
  [
    (_, code) => /^39\d{4}$/.test(code),
    () =>
      refused(
        'SINK_AUTH',
        'check SNOWFLAKE_ACCOUNT, SNOWFLAKE_USER and SNOWFLAKE_PASSWORD (or SNOWFLAKE_PRIVATE_KEY_PATH and its passphrase); not retried',
      ),
  ],
  [
    (e, code) => code.startsWith('ERR_OSSL') || /bad decrypt|private key/i.test(e.message ?? ''),
    () =>
      refused(
        'SINK_AUTH',
        'the key in SNOWFLAKE_PRIVATE_KEY_PATH could not be loaded: check the file is a PKCS#8 PEM key and SNOWFLAKE_PRIVATE_KEY_PASSPHRASE is its passphrase',
      ),
  ],
  [
    (_, code) => code === '000606',
    () =>
      refused(
        'SINK_CONFIG_INVALID',
        'no warehouse is in use: set SNOWFLAKE_WAREHOUSE to one the role may use',
      ),
  ],
  [
    (_, code) => PERMISSION.has(code),
    () =>
      refused(
        'SINK_PERMISSION',
        'grant the role (SNOWFLAKE_ROLE) usage on the database and schema and SELECT/INSERT/UPDATE/DELETE on the tables (see deploy/terraform/snowflake), or check SNOWFLAKE_DATABASE/SNOWFLAKE_SCHEMA',
      ),
  ],
  [
    (_, code) => TRANSIENT_SQL.has(code),
    () => unavailable('the statement was cancelled, timed out or waited on a lock; retrying'),
  ],
  [
    (_, code) => CONSTRAINT.has(code),
    () =>
      refused(
        'SINK_CONSTRAINT',
        'a row violates a column constraint; fix the row mapper or the upstream data',
      ),
  ],
];

/** Decides what a driver error means. Exposed for tests. */
export function classify(err: unknown): Classified {
  const e = (err ?? {}) as DriverError;
  const code = e.code === undefined ? '' : String(e.code);
  const rule = RULES.find(([holds]) => holds(e, code));
  if (rule) return rule[1](e);
  return {
    code: 'SINK_WRITE_FAILED',
    domain: 'external',
    retriable: false,
    reconnect: false,
    fix: '',
  };
}

/**
 * Wraps a driver error in a SinkError.
 * @param doing what the sink was doing ("log in", "write the batch …")
 * @param secrets values that must not appear in the message
 */
export function toSinkError(
  err: unknown,
  doing: string,
  secrets: ReadonlyArray<string | undefined>,
): SinkError & { reconnect: boolean } {
  if (err instanceof SinkError) return Object.assign(err, { reconnect: false });
  const e = (err ?? {}) as DriverError;
  const k = classify(err);
  const said = shorten(redact(`${e.message ?? String(err)}`.trim(), secrets));
  const code = e.code === undefined ? '' : ` (code ${String(e.code)})`;
  const message = `snowflake sink: could not ${doing}: ${said}${code}${k.fix ? `; ${k.fix}` : ''}`;
  // The cause is a scrubbed copy: the driver's error carries request and response objects
  // that may echo what we sent, login included, and loggers print causes deeply.
  const cause = Object.assign(new Error(said), {
    name: e.name ?? 'Error',
    code: e.code,
    sqlState: e.sqlState,
  });
  const error = new SinkError(message, {
    code: k.code,
    domain: k.domain,
    retriable: k.retriable,
    sink: 'snowflake',
    cause,
  });
  return Object.assign(error, { reconnect: k.reconnect });
}

// fakesnow and Snowflake may quote the statement and its binds: keep messages readable.
// The reason tends to come last (fakesnow: `sql_text=… params=… <reason>`), so a long
// message keeps its head and its tail.
const MAX_DRIVER_MESSAGE = 1000;
const KEPT_TAIL = 400;

function shorten(text: string): string {
  if (text.length <= MAX_DRIVER_MESSAGE) return text;
  const head = MAX_DRIVER_MESSAGE - KEPT_TAIL;
  const omitted = text.length - MAX_DRIVER_MESSAGE;
  return `${text.slice(0, head)} … (${omitted} characters omitted) … ${text.slice(-KEPT_TAIL)}`;
}
