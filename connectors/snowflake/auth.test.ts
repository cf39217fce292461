/**
 * Login failures through the real snowflake-sdk against an in-process stand-in for
 * Snowflake (fakesnow accepts any credentials, so it cannot play this part): a refused
 * login is a non-retriable SINK_AUTH error that never contains the password.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import zlib from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { SnowflakeSink } from './snowflake-sink.js';

const PASSWORD = 'S3cr3t-Pa55word!';
let server: http.Server | undefined;

afterEach(async () => {
  await new Promise((r) => (server ? server.close(r) : r(undefined)));
  server = undefined;
});

/** Answers every login with Snowflake's "incorrect username or password"; records login bodies. */
async function refusingSnowflake(): Promise<{ port: number; logins: string[] }> {
  const logins: string[] = [];
  server = http.createServer(async (req, res) => {
    const raw = Buffer.concat(await req.toArray());
    const body = req.headers['content-encoding'] === 'gzip' ? zlib.gunzipSync(raw) : raw;
    if (req.url?.startsWith('/session/v1/login-request')) logins.push(body.toString('utf8'));
    const refusal = {
      data: { nextAction: 'RETRY_LOGIN', authnMethod: 'USERNAME_PASSWORD' },
      code: '390100',
      message: 'Incorrect username or password was specified.',
      success: false,
    };
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(refusal));
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  return { port: (server!.address() as AddressInfo).port, logins };
}

function sinkAt(port: number, warnings: string[]): SnowflakeSink {
  return new SnowflakeSink({
    env: {
      SNOWFLAKE_ACCOUNT: 'millrace',
      SNOWFLAKE_USER: 'loader',
      SNOWFLAKE_PASSWORD: PASSWORD,
      SNOWFLAKE_HOST: '127.0.0.1',
      SNOWFLAKE_PORT: String(port),
      SNOWFLAKE_PROTOCOL: 'http',
    },
    options: { retry: { attempts: 5, baseDelayMs: 1, maxDelayMs: 5 } },
    log: {
      warn: (m, f) => warnings.push(`${m} ${JSON.stringify(f)}`),
      info: () => {},
      debug: () => {},
    },
  });
}

describe('a refused login', () => {
  it('is a non-retriable SINK_AUTH error, attempted once', async () => {
    const { port, logins } = await refusingSnowflake();
    const warnings: string[] = [];
    const err = await sinkAt(port, warnings)
      .open()
      .catch((e: unknown) => e);
    expect(err).toMatchObject({
      name: 'SinkError',
      code: 'SINK_AUTH',
      domain: 'user',
      retriable: false,
    });
    expect((err as Error).message).toMatch(
      /could not log in: Incorrect username or password was specified\. \(code 390100\); check SNOWFLAKE_ACCOUNT, SNOWFLAKE_USER and SNOWFLAKE_PASSWORD/,
    );
    expect(logins).toHaveLength(1);
    expect(warnings).toEqual([]);
  });

  it('never carries the password: not in the message, the cause, or any serialisation', async () => {
    const { port, logins } = await refusingSnowflake();
    const warnings: string[] = [];
    const err = await sinkAt(port, warnings)
      .open()
      .catch((e: unknown) => e);
    expect(logins[0]).toContain(PASSWORD); // it was sent, so its absence below means something
    for (const text of [
      String(err),
      (err as Error).message,
      JSON.stringify(err),
      inspect(err, { depth: 20, showHidden: true }),
      ...warnings,
    ]) {
      expect(text).not.toContain(PASSWORD);
    }
  });
});
