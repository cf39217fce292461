/**
 * A small HTTP gateway in front of fakesnow (the local Snowflake emulator) that makes its
 * answers readable by snowflake-sdk for Node, as real Snowflake's would be.
 *
 * Why: real Snowflake answers the Node driver with JSON result sets. fakesnow answers every
 * statement that is not DML — SELECT, and also CREATE, BEGIN, COMMIT, ROLLBACK and other
 * status results — with an Arrow IPC stream (`queryResultFormat: "arrow"`,
 * `rowsetBase64`). snowflake-sdk 3.x cannot read Arrow: it fails in `createChunks` reading
 * `rowset.length`. Only DML (INSERT/UPDATE/DELETE/MERGE) comes back as JSON.
 *
 * What it changes — exactly this, and only in JSON responses to `POST /queries/…`
 * (query-request, and a result fetch should the driver make one):
 * 1. Arrow results (`data.queryResultFormat === "arrow"`): `data.rowsetBase64` is decoded
 *    and replaced by `data.rowset`, one array of strings (or null) per row, in the textual
 *    encoding Snowflake's JSON result format uses for the column's type in `data.rowtype`
 *    (see `encoderFor`: FIXED with its scale, REAL, TEXT, BOOLEAN as 1/0, DATE as epoch
 *    days, TIME and TIMESTAMP_NTZ/LTZ as epoch seconds with `scale` fraction digits,
 *    TIMESTAMP_TZ as that plus a space and the zone index, VARIANT/OBJECT/ARRAY as JSON
 *    text, BINARY as upper-case hex); `queryResultFormat` becomes `"json"`. An empty
 *    `rowsetBase64` (fakesnow's zero-row result) becomes an empty `rowset`. A column type it
 *    cannot convert becomes a Snowflake-style error (`success: false`, code
 *    `GATEWAY_ARROW_UNSUPPORTED`) naming the column and type.
 * 2. Every result, Arrow or JSON, gets `data.returned` (the rowset's length) when fakesnow
 *    left it out — without it the driver never completes even an INSERT — and Snowflake's
 *    default output-format parameters that fakesnow leaves out (BINARY_OUTPUT_FORMAT and the
 *    DATE/TIME/TIMESTAMP formats, see DEFAULT_RESULT_PARAMETERS) — without
 *    BINARY_OUTPUT_FORMAT the driver throws on BINARY columns.
 * 3. fakesnow's HTTP 500 "Unhandled exception" (code 261000) — its answer when DuckDB rejects
 *    a statement in a way it does not map: NOT NULL or primary-key violations, any statement
 *    after an error inside a transaction, constructs it cannot translate — becomes HTTP 200
 *    with `success: false`, code 261000 and fakesnow's message, which is how Snowflake
 *    reports SQL errors. Left a 500, snowflake-sdk retries the statement for minutes and
 *    then fails with a generic "Request to Snowflake failed".
 * A rewritten response is sent uncompressed with a new Content-Length (fakesnow's body is
 * decompressed first if it was gzip, deflate or br).
 *
 * What passes through verbatim: every request (method, path, query, headers including Host
 * and Authorization, body — gzip or not, never decoded), and every other response: login,
 * session, heartbeat, abort, telemetry, PUT uploads, SQL errors fakesnow does map, and
 * non-JSON bodies. So through the gateway snowflake-sdk's login, session token handling,
 * request retries, bind encoding, statement execution, SQL error mapping and transactions
 * run verbatim against fakesnow; what relies on this conversion instead of fakesnow's own
 * output is the result-set decoding of non-DML statements (every SELECT) and the three
 * repairs above.
 *
 * Usage:
 *   tsx deploy/local/snowflake-gateway.ts --port 8086 --upstream http://127.0.0.1:8085 [--host 127.0.0.1]
 * or, in code, `const gw = await startGateway({ port: 0, upstreamPort: 8085 })`.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import zlib from 'node:zlib';
import { DataType, tableFromIPC, type Field, type Vector } from 'apache-arrow';

/** One column of Snowflake's `rowtype` result metadata (the fields the conversion reads). */
export interface RowtypeColumn {
  name: string;
  /** Snowflake logical type, lower case: `fixed`, `real`, `text`, `timestamp_ntz`, … */
  type: string;
  scale?: number | null;
}

/** A Snowflake JSON cell: the value's text, or null for SQL NULL. */
type Cell = string | null;
type CellEncoder = (vec: Vector, row: number) => Cell;

/** Raised when an Arrow column has no Snowflake JSON encoding we know. */
export class GatewayConversionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GatewayConversionError';
  }
}

/**
 * Decodes a base64 Arrow IPC stream as fakesnow sends it into Snowflake JSON rows: one array
 * of cells per row, in `rowtype` order. An empty string means no rows.
 */
export function arrowToJsonRowset(rowsetBase64: string, rowtype: RowtypeColumn[]): Cell[][] {
  if (!rowsetBase64) return [];
  const table = tableFromIPC(Buffer.from(rowsetBase64, 'base64'));
  const fields = table.schema.fields;
  if (fields.length !== rowtype.length) {
    throw new GatewayConversionError(
      `Arrow result has ${fields.length} columns but rowtype lists ${rowtype.length}`,
    );
  }
  const encoders = fields.map((f, c) => encoderFor(f, rowtype[c]!));
  const rows: Cell[][] = [];
  for (const batch of table.batches) {
    const columns = fields.map((_, c) => batch.getChildAt(c)!);
    for (let r = 0; r < batch.numRows; r++)
      rows.push(columns.map((vec, c) => encoders[c]!(vec, r)));
  }
  return rows;
}

/**
 * Chooses how one column's cells are written, from Snowflake's logical type (what the
 * driver parses) and the Arrow type (how fakesnow's `to_sf` stored it).
 */
function encoderFor(field: Field, col: RowtypeColumn): CellEncoder {
  const sfType = col.type.toLowerCase();
  const scale = col.scale ?? 0;
  const unsupported = () =>
    new GatewayConversionError(
      `column ${col.name}: cannot convert Arrow ${String(field.type)} to Snowflake ${sfType}`,
    );
  const t = field.type;
  switch (sfType) {
    case 'fixed':
      if (DataType.isDecimal(t)) return nullable((v, r) => scaled(decimalAt(v, r), t.scale));
      if (DataType.isInt(t)) return nullable((v, r) => scaled(BigInt(v.get(r)), scale));
      throw unsupported();
    case 'real':
      if (DataType.isFloat(t) || DataType.isInt(t))
        return nullable((v, r) => realText(Number(v.get(r))));
      throw unsupported();
    case 'boolean':
      if (DataType.isBool(t)) return nullable((v, r) => (v.get(r) ? '1' : '0'));
      throw unsupported();
    case 'date':
      if (DataType.isDate(t))
        return nullable((v, r) => String(Math.floor(Number(v.get(r)) / 86_400_000)));
      throw unsupported();
    case 'time':
      return timeEncoder(field, scale, unsupported);
    case 'timestamp_ntz':
    case 'timestamp_ltz':
    case 'timestamp_tz':
      return timestampEncoder(field, scale, sfType === 'timestamp_tz', unsupported);
    case 'binary':
      if (DataType.isBinary(t) || DataType.isLargeBinary(t) || DataType.isFixedSizeBinary(t)) {
        return nullable((v, r) =>
          Buffer.from(v.get(r) as Uint8Array)
            .toString('hex')
            .toUpperCase(),
        );
      }
      throw unsupported();
    case 'variant':
    case 'object':
    case 'array':
    case 'map':
      return nullable((v, r) => jsonText(v.get(r)));
    default:
      // text, and anything Snowflake itself sends as plain text
      return nullable((v, r) => String(v.get(r)));
  }
}

/** Wraps an encoder so SQL NULL stays null without each encoder checking. */
function nullable(enc: (vec: Vector, row: number) => string): CellEncoder {
  return (vec, row) => (vec.isValid(row) ? enc(vec, row) : null);
}

/** TIME: seconds since midnight with `scale` fraction digits, e.g. `"3723.500000000"`. */
function timeEncoder(field: Field, scale: number, unsupported: () => Error): CellEncoder {
  const t = field.type;
  // fakesnow sends TIME as int64 nanoseconds (its rowtype scale is 9), i.e. units of 10^-scale s.
  if (DataType.isInt(t)) return nullable((v, r) => scaled(BigInt(v.get(r)), scale));
  if (DataType.isTime(t)) {
    const unitDigits = [0, 3, 6, 9][t.unit]!;
    return nullable((v, r) => scaled(rescale(BigInt(v.get(r)), unitDigits, scale), scale));
  }
  throw unsupported();
}

/**
 * TIMESTAMP_*: epoch seconds with `scale` fraction digits, e.g. `"1575526691.134000000"`;
 * TIMESTAMP_TZ appends a space and the zone index (offset minutes + 1440), the form the
 * driver reads for result versions other than 0.
 */
function timestampEncoder(
  field: Field,
  scale: number,
  withZone: boolean,
  unsupported: () => Error,
): CellEncoder {
  const t = field.type;
  if (DataType.isStruct(t)) {
    const zone = (v: Vector, r: number) =>
      withZone ? ` ${v.getChild('timezone')?.get(r) ?? 1440}` : '';
    return (v, r) => {
      const epoch = v.getChild('epoch');
      if (!v.isValid(r) || !epoch || !epoch.isValid(r)) return null;
      const nanos =
        BigInt(epoch.get(r)) * 1_000_000_000n + BigInt(v.getChild('fraction')?.get(r) ?? 0);
      return scaled(rescale(nanos, 9, scale), scale) + zone(v, r);
    };
  }
  if (DataType.isInt(t))
    return nullable((v, r) => scaled(BigInt(v.get(r)), scale) + (withZone ? ' 1440' : ''));
  if (DataType.isTimestamp(t)) {
    const unitDigits = [0, 3, 6, 9][t.unit]!;
    return nullable(
      (v, r) =>
        scaled(rescale(BigInt(v.get(r)), unitDigits, scale), scale) + (withZone ? ' 1440' : ''),
    );
  }
  throw unsupported();
}

/** Converts an integer count of 10^-from seconds into 10^-to seconds (truncating toward -∞). */
function rescale(value: bigint, from: number, to: number): bigint {
  if (from === to) return value;
  if (to > from) return value * 10n ** BigInt(to - from);
  const div = 10n ** BigInt(from - to);
  const q = value / div;
  return value % div < 0n ? q - 1n : q;
}

/** Writes an unscaled integer with `scale` digits after the point: (1230n, 2) → "12.30". */
export function scaled(unscaled: bigint, scale: number): string {
  if (scale <= 0) return unscaled.toString();
  const neg = unscaled < 0n;
  const digits = (neg ? -unscaled : unscaled).toString().padStart(scale + 1, '0');
  return `${neg ? '-' : ''}${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
}

/** The unscaled integer of a Decimal cell, read from its little-endian two's-complement words. */
function decimalAt(vec: Vector, row: number): bigint {
  const data = vec.data[0]!;
  const words = data.values as Uint32Array;
  const stride = data.stride;
  let v = 0n;
  for (let k = stride - 1; k >= 0; k--) v = (v << 32n) | BigInt(words[row * stride + k]!);
  const bits = BigInt(stride * 32);
  return v >> (bits - 1n) ? v - (1n << bits) : v;
}

/** A double as Snowflake's JSON writes it; the specials use Snowflake's spellings. */
function realText(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  return Object.is(x, -0) ? '-0' : String(x);
}

/** VARIANT/OBJECT/ARRAY cells are JSON text; fakesnow already stores them as strings. */
function jsonText(value: unknown): string {
  if (typeof value === 'string') return value;
  const plain = (value as { toJSON?: () => unknown })?.toJSON?.() ?? value;
  return JSON.stringify(plain, (_k, x) => (typeof x === 'bigint' ? Number(x) : x));
}

/**
 * Snowflake's default output-format session parameters, which real Snowflake sends with
 * every result and the driver reads to format dates, times, timestamps and binary values.
 * fakesnow sends only TIMEZONE; without BINARY_OUTPUT_FORMAT the driver throws on BINARY.
 */
export const DEFAULT_RESULT_PARAMETERS: ReadonlyArray<{ name: string; value: string }> = [
  { name: 'BINARY_OUTPUT_FORMAT', value: 'HEX' },
  { name: 'DATE_OUTPUT_FORMAT', value: 'YYYY-MM-DD' },
  { name: 'TIME_OUTPUT_FORMAT', value: 'HH24:MI:SS' },
  { name: 'TIMESTAMP_OUTPUT_FORMAT', value: 'YYYY-MM-DD HH24:MI:SS.FF3 TZHTZM' },
  { name: 'TIMESTAMP_NTZ_OUTPUT_FORMAT', value: 'YYYY-MM-DD HH24:MI:SS.FF3' },
  { name: 'TIMESTAMP_LTZ_OUTPUT_FORMAT', value: '' },
  { name: 'TIMESTAMP_TZ_OUTPUT_FORMAT', value: '' },
];

/**
 * Rewrites one query response body (already decompressed JSON) into what real Snowflake
 * would send the Node driver; returns undefined when it passes through unchanged (no
 * result data: login-style bodies, errors, PUT stage info).
 */
export function rewriteQueryResponse(body: unknown): Record<string, unknown> | undefined {
  const data = (body as { data?: Record<string, unknown> } | null)?.data;
  if (!data || (data.queryResultFormat !== 'arrow' && data.queryResultFormat !== 'json'))
    return undefined;
  let rowset: unknown = data.rowset;
  if (data.queryResultFormat === 'arrow') {
    try {
      rowset = arrowToJsonRowset(
        String(data.rowsetBase64 ?? ''),
        (data.rowtype ?? []) as RowtypeColumn[],
      );
    } catch (err) {
      return conversionFailure(data, err as Error);
    }
  }
  const { rowsetBase64: _dropped, ...rest } = data;
  const returned = data.returned ?? (Array.isArray(rowset) ? rowset.length : undefined);
  return {
    ...(body as object),
    data: {
      ...rest,
      queryResultFormat: 'json',
      rowset,
      returned,
      parameters: withDefaultParameters(data.parameters),
    },
  };
}

function withDefaultParameters(given: unknown): Array<{ name: string; value: unknown }> {
  const list = Array.isArray(given) ? (given as Array<{ name: string; value: unknown }>) : [];
  const present = new Set(list.map((p) => p.name));
  return [...list, ...DEFAULT_RESULT_PARAMETERS.filter((p) => !present.has(p.name))];
}

function conversionFailure(data: Record<string, unknown>, err: Error): Record<string, unknown> {
  const message = `snowflake gateway: ${err.message}; extend deploy/local/snowflake-gateway.ts to support it`;
  return {
    data: { errorCode: 'GATEWAY_ARROW_UNSUPPORTED', queryId: data.queryId },
    code: 'GATEWAY_ARROW_UNSUPPORTED',
    message,
    success: false,
  };
}

/**
 * fakesnow's answer to a statement its DuckDB backend rejected in a way it does not map
 * (a NOT NULL or primary-key violation, a statement in an aborted transaction, an
 * unsupported construct) is HTTP 500 with code 261000 "… Unhandled exception". Real
 * Snowflake reports SQL errors as HTTP 200 with `success: false`, and snowflake-sdk
 * retries a 500 for minutes before giving up with "Request to Snowflake failed". So that
 * one body becomes a 200 SQL error with fakesnow's code and message; returns undefined
 * for any other body.
 */
export function unhandledAsSqlError(body: unknown): Record<string, unknown> | undefined {
  const b = body as { code?: unknown; message?: unknown; success?: unknown } | null;
  if (b?.success !== false || b.code !== '261000') return undefined;
  const message = `${String(b.message)} (fakesnow answered HTTP 500; the cause is in its log, e.g. .run/fakesnow/fakesnow.log)`;
  return {
    data: { errorCode: '261000', sqlState: 'XX000' },
    code: '261000',
    message,
    success: false,
  };
}

/** Options of {@link startGateway}. */
export interface GatewayOptions {
  /** Port to listen on; 0 picks a free one (read it back from the result). */
  port: number;
  /** fakesnow's port. */
  upstreamPort: number;
  /** Interface to bind, default `127.0.0.1`. */
  host?: string;
  /** fakesnow's host, default `127.0.0.1`. */
  upstreamHost?: string;
}

/** A running gateway. */
export interface SnowflakeGateway {
  host: string;
  /** The port actually bound (useful with `port: 0`). */
  port: number;
  server: http.Server;
  /** Stops accepting connections and closes idle ones; resolves when closed. */
  close(): Promise<void>;
}

/**
 * Starts the gateway: forwards every request to fakesnow verbatim and converts Arrow query
 * results to JSON (see the file header). Example:
 * `const gw = await startGateway({ port: 0, upstreamPort: 8085 }); … await gw.close();`
 */
export async function startGateway(opts: GatewayOptions): Promise<SnowflakeGateway> {
  const host = opts.host ?? '127.0.0.1';
  const upstream = { host: opts.upstreamHost ?? '127.0.0.1', port: opts.upstreamPort };
  const server = http.createServer((req, res) => forward(req, res, upstream));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
    });
  return { host, port, server, close };
}

function forward(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  upstream: { host: string; port: number },
): void {
  const up = http.request(
    { ...upstream, method: req.method, path: req.url, headers: req.headers },
    (upRes) => {
      if (req.method === 'POST' && req.url?.startsWith('/queries/') && isJson(upRes))
        void relayQueryResponse(upRes, res);
      else relayVerbatim(upRes, res);
    },
  );
  up.on('error', (err) =>
    fail(
      res,
      502,
      `snowflake gateway: upstream ${upstream.host}:${upstream.port} unreachable (${err.message}); is fakesnow running? (npm run infra:status)`,
    ),
  );
  req.pipe(up);
}

function isJson(res: http.IncomingMessage): boolean {
  return String(res.headers['content-type'] ?? '').includes('json');
}

function relayVerbatim(upRes: http.IncomingMessage, res: http.ServerResponse): void {
  res.writeHead(upRes.statusCode ?? 502, upRes.headers);
  upRes.pipe(res);
}

async function relayQueryResponse(
  upRes: http.IncomingMessage,
  res: http.ServerResponse,
): Promise<void> {
  try {
    const raw = Buffer.concat(await upRes.toArray());
    const body: unknown = JSON.parse(
      decode(raw, upRes.headers['content-encoding']).toString('utf8'),
    );
    const sqlError = upRes.statusCode === 500 ? unhandledAsSqlError(body) : undefined;
    const rewritten = sqlError ?? rewriteQueryResponse(body);
    if (!rewritten) {
      res.writeHead(upRes.statusCode ?? 502, upRes.headers).end(raw);
      return;
    }
    const out = Buffer.from(JSON.stringify(rewritten));
    const {
      'content-encoding': _e,
      'content-length': _l,
      'transfer-encoding': _t,
      ...headers
    } = upRes.headers;
    res
      .writeHead(sqlError ? 200 : (upRes.statusCode ?? 200), {
        ...headers,
        'content-length': out.length,
      })
      .end(out);
  } catch (err) {
    fail(
      res,
      502,
      `snowflake gateway: could not read fakesnow's response (${(err as Error).message})`,
    );
  }
}

function decode(body: Buffer, encoding: string | string[] | undefined): Buffer {
  if (encoding === 'gzip') return zlib.gunzipSync(body);
  if (encoding === 'deflate') return zlib.inflateSync(body);
  if (encoding === 'br') return zlib.brotliDecompressSync(body);
  return body;
}

function fail(res: http.ServerResponse, status: number, message: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res
    .writeHead(status, { 'content-type': 'application/json' })
    .end(JSON.stringify({ data: null, code: 'GATEWAY_ERROR', message, success: false }));
}

/** Parses `--port P --upstream URL [--host H]`. */
function parseArgs(argv: string[]): GatewayOptions {
  const arg = (name: string) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const usage =
    'usage: tsx deploy/local/snowflake-gateway.ts --port P --upstream http://127.0.0.1:8085 [--host 127.0.0.1]';
  const port = Number(arg('port'));
  const upstream = new URL(arg('upstream') ?? 'http://127.0.0.1:8085');
  if (!Number.isInteger(port) || port < 0 || port > 65535 || upstream.protocol !== 'http:')
    throw new Error(usage);
  return {
    port,
    host: arg('host') ?? '127.0.0.1',
    upstreamHost: upstream.hostname,
    upstreamPort: Number(upstream.port || 80),
  };
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const gw = await startGateway(opts);
  console.log(
    JSON.stringify({
      time: new Date().toISOString(),
      level: 'info',
      msg: 'snowflake gateway listening',
      host: gw.host,
      port: gw.port,
      upstream: `${opts.upstreamHost}:${opts.upstreamPort}`,
    }),
  );
  const stop = () => void gw.close().then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: Error) => {
    console.error(err.message);
    process.exit(1);
  });
}
