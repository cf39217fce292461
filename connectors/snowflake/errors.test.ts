import { describe, expect, it } from 'vitest';
import { SinkError } from '../warehouse/errors.js';
import { classify, toSinkError } from './errors.js';
import { backoffDelay, withRetry } from './retry.js';

/** Errors shaped as snowflake-sdk makes them (name, code, response). */
const driverError = (name: string, code: string | number, message = 'x', statusCode?: number) =>
  Object.assign(new Error(message), {
    name,
    code,
    response: statusCode === undefined ? undefined : { statusCode },
  });

describe('classify', () => {
  it.each([
    ['network failure', driverError('NetworkError', 401001), 'SINK_UNAVAILABLE', true],
    [
      'HTTP 503 after the driver gave up',
      driverError('RequestFailedError', 401002, 'Request to Snowflake failed.', 503),
      'SINK_UNAVAILABLE',
      true,
    ],
    [
      'HTTP 429',
      driverError('RequestFailedError', 401002, 'Request to Snowflake failed.', 429),
      'SINK_UNAVAILABLE',
      true,
    ],
    [
      'connection reset',
      Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }),
      'SINK_UNAVAILABLE',
      true,
    ],
    ['expired session', driverError('OperationFailedError', '390112'), 'SINK_UNAVAILABLE', true],
    ['lock timeout', driverError('OperationFailedError', '000625'), 'SINK_UNAVAILABLE', true],
    ['wrong password', driverError('OperationFailedError', '390100'), 'SINK_AUTH', false],
    ['HTTP 403', driverError('RequestFailedError', 401002, 'x', 403), 'SINK_AUTH', false],
    [
      'bad key passphrase',
      Object.assign(new Error('error:1C800064:Provider routines::bad decrypt'), {
        code: 'ERR_OSSL_BAD_DECRYPT',
      }),
      'SINK_AUTH',
      false,
    ],
    [
      'insufficient privileges',
      driverError('OperationFailedError', '003001'),
      'SINK_PERMISSION',
      false,
    ],
    [
      'object does not exist or not authorized',
      driverError('OperationFailedError', '002003'),
      'SINK_PERMISSION',
      false,
    ],
    ['no warehouse', driverError('OperationFailedError', '000606'), 'SINK_CONFIG_INVALID', false],
    ['NULL into NOT NULL', driverError('OperationFailedError', '100072'), 'SINK_CONSTRAINT', false],
    ['syntax error', driverError('OperationFailedError', '001003'), 'SINK_WRITE_FAILED', false],
  ])('%s → %s', (_what, err, code, retriable) => {
    expect(classify(err)).toMatchObject({ code, retriable });
  });
});

describe('toSinkError', () => {
  it('scrubs secrets from the message and the cause, and keeps the fix', () => {
    const err = toSinkError(
      driverError('OperationFailedError', '390100', 'login with password hunter22 refused'),
      'log in',
      ['hunter22'],
    );
    expect(err).toBeInstanceOf(SinkError);
    expect(err.message).toBe(
      'snowflake sink: could not log in: login with password *** refused (code 390100); check SNOWFLAKE_ACCOUNT, SNOWFLAKE_USER and SNOWFLAKE_PASSWORD (or SNOWFLAKE_PRIVATE_KEY_PATH and its passphrase); not retried',
    );
    expect(String((err.cause as Error).message)).not.toContain('hunter22');
  });

  it('shortens long driver messages (fakesnow quotes statements and binds), keeping the reason at the end', () => {
    expect(toSinkError(new Error('x'.repeat(5000)), 'write', []).message.length).toBeLessThan(1300);
    // fakesnow's shape: the statement and its binds first, the reason last.
    const said = `sql_text="MERGE INTO D.S.trades AS t USING (SELECT …)" params=[${"'v', ".repeat(800)}] Unhandled exception (fakesnow answered HTTP 500; the cause is in its log)`;
    const err = toSinkError(Object.assign(new Error(said), { code: '261000' }), 'write', []);
    expect(err.message).toMatch(
      /^snowflake sink: could not write: sql_text="MERGE INTO D\.S\.trades/,
    );
    expect(err.message).toMatch(
      /… \(\d+ characters omitted\) … .*Unhandled exception \(fakesnow answered HTTP 500; the cause is in its log\) \(code 261000\)$/,
    );
  });
});

describe('retry', () => {
  const policy = { attempts: 4, baseDelayMs: 100, maxDelayMs: 350 };

  it('backs off exponentially up to the cap, with full jitter', () => {
    expect([0, 1, 2, 3, 8].map((n) => backoffDelay(n, policy, () => 0.999999))).toEqual([
      99, 199, 349, 349, 349,
    ]);
    expect(backoffDelay(2, policy, () => 0)).toBe(0);
  });

  it('retries retriable SinkErrors, then gives up saying how often it tried', async () => {
    const waits: number[] = [];
    let calls = 0;
    const failing = () => {
      calls++;
      return Promise.reject(
        new SinkError('down', {
          code: 'SINK_UNAVAILABLE',
          domain: 'external',
          retriable: true,
          sink: 's',
        }),
      );
    };
    await expect(
      withRetry(failing, policy, { sleep: async (ms) => void waits.push(ms), random: () => 0.5 }),
    ).rejects.toThrow(/down \(gave up after 4 attempts\)/);
    expect(calls).toBe(4);
    expect(waits).toEqual([50, 100, 175]);
  });

  it('does not retry what cannot succeed, and returns the first success', async () => {
    let calls = 0;
    const auth = () => {
      calls++;
      return Promise.reject(new SinkError('no', { code: 'SINK_AUTH', domain: 'user', sink: 's' }));
    };
    await expect(withRetry(auth, policy, { sleep: async () => {} })).rejects.toMatchObject({
      code: 'SINK_AUTH',
    });
    expect(calls).toBe(1);
    let n = 0;
    const flaky = () =>
      ++n < 3
        ? Promise.reject(
            new SinkError('x', {
              code: 'SINK_UNAVAILABLE',
              domain: 'external',
              retriable: true,
              sink: 's',
            }),
          )
        : Promise.resolve('ok');
    await expect(withRetry(flaky, policy, { sleep: async () => {} })).resolves.toBe('ok');
  });
});
