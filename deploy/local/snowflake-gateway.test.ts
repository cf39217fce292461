/**
 * The gateway's conversion, fed Arrow results built the way fakesnow's `to_sf` builds them
 * (timestamps as {epoch, fraction[, timezone]} structs, TIME as int64 nanoseconds, NUMBER
 * as int64 or decimal128), plus its HTTP relaying against an in-process stand-in for
 * fakesnow. No real servers.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import zlib from 'node:zlib';
import {
  Binary,
  Bool,
  DateDay,
  Decimal,
  Field,
  Float64,
  Int32,
  Int64,
  makeData,
  makeVector,
  Struct,
  Table,
  tableToIPC,
  Utf8,
  vectorFromArray,
  type Vector,
} from 'apache-arrow';
import { afterEach, describe, expect, it } from 'vitest';
import {
  arrowToJsonRowset,
  rewriteQueryResponse,
  scaled,
  startGateway,
  unhandledAsSqlError,
  type RowtypeColumn,
  type SnowflakeGateway,
} from './snowflake-gateway.js';

const col = (name: string, type: string, scale: number | null = null): RowtypeColumn => ({
  name,
  type,
  scale,
});

function ipcBase64(columns: Record<string, Vector>): string {
  return Buffer.from(tableToIPC(new Table(columns), 'stream')).toString('base64');
}

/** A timestamp column as fakesnow sends it: epoch seconds + nanosecond fraction (+ zone index). */
function sfTimestamps(values: Array<[bigint, number] | null>, withZone = false): Vector {
  const fields = [
    new Field('epoch', new Int64(), false),
    new Field('fraction', new Int32(), false),
  ];
  if (withZone) fields.push(new Field('timezone', new Int32(), false));
  const rows = values.map((v) =>
    v === null ? null : { epoch: v[0], fraction: v[1], ...(withZone ? { timezone: 1440 } : {}) },
  );
  return vectorFromArray(rows, new Struct(fields));
}

/** decimal128 cells from unscaled integers. */
function decimals(unscaledValues: bigint[], scale: number, precision: number): Vector {
  const words = new Uint32Array(unscaledValues.length * 4);
  unscaledValues.forEach((v, i) => {
    let x = BigInt.asUintN(128, v);
    for (let k = 0; k < 4; k++, x >>= 32n) words[i * 4 + k] = Number(x & 0xffffffffn);
  });
  return makeVector(
    makeData({
      type: new Decimal(scale, precision, 128),
      length: unscaledValues.length,
      data: words,
    }),
  );
}

describe('arrowToJsonRowset', () => {
  it('writes each Snowflake type the way the JSON result format carries it', () => {
    const b64 = ipcBase64({
      S: vectorFromArray(['AAPL', null], new Utf8()),
      P: vectorFromArray([189.25, null], new Float64()),
      N: vectorFromArray([9007199254740993n, -7n], new Int64()),
      F: decimals([1230n, -5n], 2, 10),
      T: sfTimestamps([
        [1575526691n, 134_000_000],
        [-1n, 500_000_000],
      ]),
      B: vectorFromArray([true, false], new Bool()),
      D: vectorFromArray([new Date(Date.UTC(2024, 0, 2)), null], new DateDay()),
      H: vectorFromArray([11_045_500_000_000n, 0n], new Int64()),
      X: vectorFromArray([new Uint8Array([0xab, 0xcd]), null], new Binary()),
      V: vectorFromArray(['{"a":1}', null], new Utf8()),
      Z: sfTimestamps([[1704157445n, 123_000_000], null], true),
    });
    const rowtype = [
      col('S', 'text'),
      col('P', 'real'),
      col('N', 'fixed', 0),
      col('F', 'fixed', 2),
      col('T', 'timestamp_ntz', 9),
      col('B', 'boolean'),
      col('D', 'date'),
      col('H', 'time', 9),
      col('X', 'binary'),
      col('V', 'variant'),
      col('Z', 'timestamp_tz', 9),
    ];
    expect(arrowToJsonRowset(b64, rowtype)).toEqual([
      [
        'AAPL',
        '189.25',
        '9007199254740993',
        '12.30',
        '1575526691.134000000',
        '1',
        '19724',
        '11045.500000000',
        'ABCD',
        '{"a":1}',
        '1704157445.123000000 1440',
      ],
      [null, null, '-7', '-0.05', '-0.500000000', '0', null, '0.000000000', null, null, null],
    ]);
  });

  it('reads a struct timestamp whose children are null as NULL', () => {
    const fields = [
      new Field('epoch', new Int64(), true),
      new Field('fraction', new Int32(), true),
      new Field('timezone', new Int32(), false),
    ];
    const v = vectorFromArray(
      [{ epoch: null, fraction: null, timezone: 1440 }],
      new Struct(fields),
    );
    expect(arrowToJsonRowset(ipcBase64({ L: v }), [col('L', 'timestamp_tz', 9)])).toEqual([[null]]);
  });

  it('returns no rows for an empty rowsetBase64 (fakesnow sends "" for zero rows)', () => {
    expect(arrowToJsonRowset('', [col('A', 'text')])).toEqual([]);
  });

  it('writes doubles so Number() gives them back exactly', () => {
    const xs = [0.1, 1 / 3, 1e-300, 123456789.123456789, -2.5e21];
    const rows = arrowToJsonRowset(ipcBase64({ P: vectorFromArray(xs, new Float64()) }), [
      col('P', 'real'),
    ]);
    expect(rows.map((r) => Number(r[0]))).toEqual(xs);
  });
});

describe('scaled', () => {
  it('places the decimal point and keeps the sign', () => {
    expect([scaled(1230n, 2), scaled(-5n, 2), scaled(7n, 0), scaled(-1234n, 3)]).toEqual([
      '12.30',
      '-0.05',
      '7',
      '-1.234',
    ]);
  });
});

describe('rewriteQueryResponse', () => {
  const arrowBody = () => ({
    success: true,
    data: {
      rowtype: [col('status', 'text')],
      total: 1,
      queryId: 'q1',
      parameters: [{ name: 'TIMEZONE', value: 'Etc/UTC' }],
      queryResultFormat: 'arrow',
      rowsetBase64: ipcBase64({
        status: vectorFromArray(['Statement executed successfully.'], new Utf8()),
      }),
    },
  });

  it('turns an Arrow status result (BEGIN, CREATE …) into a JSON rowset', () => {
    const out = rewriteQueryResponse(arrowBody()) as { data: Record<string, unknown> };
    expect(out.data.queryResultFormat).toBe('json');
    expect(out.data.rowset).toEqual([['Statement executed successfully.']]);
    expect(out.data.returned).toBe(1);
    expect(out.data).not.toHaveProperty('rowsetBase64');
  });

  it("adds Snowflake's default output formats without overriding fakesnow's", () => {
    const params = (
      rewriteQueryResponse(arrowBody()) as {
        data: { parameters: Array<{ name: string; value: string }> };
      }
    ).data.parameters;
    expect(params.find((p) => p.name === 'TIMEZONE')?.value).toBe('Etc/UTC');
    expect(params.find((p) => p.name === 'BINARY_OUTPUT_FORMAT')?.value).toBe('HEX');
  });

  it('adds `returned` to JSON DML results that lack it, and keeps their rowset', () => {
    const out = rewriteQueryResponse({
      success: true,
      data: {
        queryResultFormat: 'json',
        rowset: [['2']],
        rowtype: [col('number of rows inserted', 'fixed', 0)],
      },
    });
    expect((out as { data: Record<string, unknown> }).data).toMatchObject({
      rowset: [['2']],
      returned: 1,
    });
  });

  it('leaves errors and bodies without results alone', () => {
    expect(
      rewriteQueryResponse({
        success: false,
        code: '002003',
        message: 'no table',
        data: { errorCode: '002003' },
      }),
    ).toBeUndefined();
    expect(rewriteQueryResponse({ data: null, success: true })).toBeUndefined();
  });

  it('answers an unconvertible column with a Snowflake-style error naming it', () => {
    const body = arrowBody();
    body.data.rowtype = [col('status', 'boolean')];
    const out = rewriteQueryResponse(body) as { success: boolean; message: string };
    expect(out.success).toBe(false);
    expect(out.message).toMatch(/column status: cannot convert Arrow Utf8 to Snowflake boolean/);
  });
});

describe('unhandledAsSqlError', () => {
  it("turns fakesnow's 500 'Unhandled exception' into a Snowflake SQL error body", () => {
    const out = unhandledAsSqlError({
      data: null,
      code: '261000',
      message: "sql_text='insert …' Unhandled exception",
      success: false,
      headers: null,
    });
    expect(out).toMatchObject({ success: false, code: '261000', data: { errorCode: '261000' } });
    expect((out as { message: string }).message).toMatch(
      /Unhandled exception.*fakesnow answered HTTP 500/,
    );
  });

  it('leaves other bodies alone', () => {
    expect(
      unhandledAsSqlError({ data: null, code: '390104', message: 'login again', success: false }),
    ).toBeUndefined();
    expect(unhandledAsSqlError({ success: true, data: {} })).toBeUndefined();
  });
});

describe('startGateway (against an in-process stand-in for fakesnow)', () => {
  let upstream: http.Server | undefined;
  let gateway: SnowflakeGateway | undefined;
  afterEach(async () => {
    await gateway?.close();
    await new Promise((r) => (upstream ? upstream.close(r) : r(undefined)));
  });

  /** Starts a fake upstream that records requests and answers with `reply`. */
  async function fakeUpstream(
    reply: (
      req: http.IncomingMessage,
      body: Buffer,
    ) => { status?: number; headers: http.OutgoingHttpHeaders; body: Buffer },
  ) {
    const seen: Array<{
      method?: string;
      url?: string;
      headers: http.IncomingHttpHeaders;
      body: Buffer;
    }> = [];
    upstream = http.createServer(async (req, res) => {
      const body = Buffer.concat(await req.toArray());
      seen.push({ method: req.method, url: req.url, headers: req.headers, body });
      const r = reply(req, body);
      res.writeHead(r.status ?? 200, r.headers).end(r.body);
    });
    await new Promise<void>((r) => upstream!.listen(0, '127.0.0.1', r));
    gateway = await startGateway({
      port: 0,
      upstreamPort: (upstream.address() as AddressInfo).port,
    });
    return seen;
  }

  it('forwards a gzip request verbatim and converts a gzip Arrow response to plain JSON', async () => {
    const arrow = {
      success: true,
      data: {
        rowtype: [col('N', 'fixed', 0)],
        total: 1,
        queryResultFormat: 'arrow',
        rowsetBase64: ipcBase64({ N: vectorFromArray([42n], new Int64()) }),
      },
    };
    const seen = await fakeUpstream(() => ({
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      body: zlib.gzipSync(JSON.stringify(arrow)),
    }));
    const sent = zlib.gzipSync(JSON.stringify({ sqlText: 'select 42 as n' }));
    const res = await fetch(
      `http://127.0.0.1:${gateway!.port}/queries/v1/query-request?requestId=r1`,
      {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'content-encoding': 'gzip',
          authorization: 'Snowflake Token="t0k"',
        },
        body: sent,
      },
    );
    const json = (await res.json()) as { data: Record<string, unknown> };
    expect(json.data).toMatchObject({ queryResultFormat: 'json', rowset: [['42']], returned: 1 });
    expect(seen[0]).toMatchObject({
      method: 'POST',
      url: '/queries/v1/query-request?requestId=r1',
    });
    expect(seen[0]!.headers).toMatchObject({
      'content-encoding': 'gzip',
      authorization: 'Snowflake Token="t0k"',
    });
    expect(seen[0]!.body.equals(sent)).toBe(true);
  });

  it('passes other endpoints through byte for byte, status included', async () => {
    const body = Buffer.from('{"data":{"token":"abc"},"success":true}');
    await fakeUpstream(() => ({
      status: 201,
      headers: { 'content-type': 'application/json', 'x-extra': '1' },
      body,
    }));
    const res = await fetch(`http://127.0.0.1:${gateway!.port}/session/v1/login-request`, {
      method: 'POST',
      body: '{}',
    });
    expect(res.status).toBe(201);
    expect(res.headers.get('x-extra')).toBe('1');
    expect(Buffer.from(await res.arrayBuffer()).equals(body)).toBe(true);
  });

  it("answers fakesnow's 500 'Unhandled exception' with a 200 SQL error", async () => {
    const body = Buffer.from(
      JSON.stringify({
        data: null,
        code: '261000',
        message: 'Unhandled exception',
        success: false,
        headers: null,
      }),
    );
    await fakeUpstream(() => ({
      status: 500,
      headers: { 'content-type': 'application/json' },
      body,
    }));
    const res = await fetch(`http://127.0.0.1:${gateway!.port}/queries/v1/query-request`, {
      method: 'POST',
      body: '{}',
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ success: false, code: '261000' });
  });

  it('answers 502 with a hint when fakesnow is not there', async () => {
    gateway = await startGateway({ port: 0, upstreamPort: 1 });
    const res = await fetch(`http://127.0.0.1:${gateway.port}/queries/v1/query-request`, {
      method: 'POST',
      body: '{}',
    });
    expect(res.status).toBe(502);
    expect(((await res.json()) as { message: string }).message).toMatch(/is fakesnow running/);
  });
});
