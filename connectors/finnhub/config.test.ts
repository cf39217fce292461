import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_SYMBOLS, finnhubConfig } from './config.js';
import { environment, parseDotEnv } from './env-file.js';
import { FinnhubConfigError } from './errors.js';

function configError(env: Record<string, string>): FinnhubConfigError {
  try {
    finnhubConfig(env);
  } catch (e) {
    if (e instanceof FinnhubConfigError) return e;
    throw e;
  }
  throw new Error('expected a FinnhubConfigError');
}

describe('Finnhub config', () => {
  it('has defaults: no token (synthetic), Finnhub URL, a few symbols, backoff and idle timeout', () => {
    const c = finnhubConfig({});
    expect(c).toEqual({
      token: undefined,
      url: 'wss://ws.finnhub.io',
      symbols: DEFAULT_SYMBOLS.split(','),
      reconnect: { initialMs: 500, maxMs: 30_000 },
      idleTimeoutMs: 60_000,
    });
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('reads symbols (trimmed, deduplicated), durations and a local ws:// URL', () => {
    const c = finnhubConfig({
      FINNHUB_TOKEN: ' abc ',
      FINNHUB_SYMBOLS: ' AAPL, MSFT,BINANCE:BTCUSDT,,AAPL,IC MARKETS:1 ',
      FINNHUB_WS_URL: 'ws://127.0.0.1:9999',
      FINNHUB_RECONNECT_INITIAL: '250ms',
      FINNHUB_RECONNECT_MAX: '1m',
      FINNHUB_IDLE_TIMEOUT: '15s',
    });
    expect(c.token).toBe('abc');
    expect(c.symbols).toEqual(['AAPL', 'MSFT', 'BINANCE:BTCUSDT', 'IC MARKETS:1']);
    expect(c.reconnect).toEqual({ initialMs: 250, maxMs: 60_000 });
    expect(c.idleTimeoutMs).toBe(15_000);
    expect(c.url).toBe('ws://127.0.0.1:9999');
  });

  it('names each bad variable and the fix', () => {
    const e = configError({
      FINNHUB_WS_URL: 'https://finnhub.io',
      FINNHUB_SYMBOLS: 'AAPL,$$$',
      FINNHUB_IDLE_TIMEOUT: 'soon',
    });
    expect(e.issues.map((i) => i.variable).sort()).toEqual([
      'FINNHUB_IDLE_TIMEOUT',
      'FINNHUB_SYMBOLS',
      'FINNHUB_WS_URL',
    ]);
    expect(e.message).toMatch(
      /FINNHUB_WS_URL: "https:\/\/finnhub.io" is not a WebSocket URL; set FINNHUB_WS_URL=wss:\/\/ws.finnhub.io/,
    );
    expect(e.message).toMatch(
      /FINNHUB_SYMBOLS: "\$\$\$" is not a symbol; write e.g. FINNHUB_SYMBOLS=AAPL,MSFT/,
    );
    expect(e.message).toMatch(
      /FINNHUB_IDLE_TIMEOUT: "soon" is not a positive duration; write e.g. FINNHUB_IDLE_TIMEOUT=60s/,
    );
    expect(e).toMatchObject({ code: 'CONFIG_INVALID', domain: 'user' });
    expect(configError({ FINNHUB_SYMBOLS: ' , ' }).message).toMatch(/lists no symbol/);
    expect(
      configError({ FINNHUB_RECONNECT_INITIAL: '1m', FINNHUB_RECONNECT_MAX: '1s' }).message,
    ).toMatch(/FINNHUB_RECONNECT_MAX: is shorter than FINNHUB_RECONNECT_INITIAL/);
  });
});

describe('.env reader', () => {
  it('parses KEY=value, export, quotes, escapes and comments', () => {
    expect(
      parseDotEnv(
        [
          '# a comment',
          'FINNHUB_TOKEN=abc123 # inline comment',
          'export FINNHUB_SYMBOLS="AAPL,MSFT"',
          "SINGLE='a # not a comment'",
          'ESCAPED="line1\\nline2 \\"q\\""',
          '  SPACED = value with spaces  ',
          'EMPTY=',
          'not a line',
          'HASH=a#b',
        ].join('\r\n'),
      ),
    ).toEqual({
      FINNHUB_TOKEN: 'abc123',
      FINNHUB_SYMBOLS: 'AAPL,MSFT',
      SINGLE: 'a # not a comment',
      ESCAPED: 'line1\nline2 "q"',
      SPACED: 'value with spaces',
      EMPTY: '',
      HASH: 'a#b',
    });
  });

  it('reads .env from the working directory; the environment wins', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'millrace-env-'));
    try {
      fs.writeFileSync(path.join(dir, '.env'), 'FINNHUB_TOKEN=fromfile\nFINNHUB_SYMBOLS=AAPL\n');
      expect(environment(dir, { FINNHUB_SYMBOLS: 'MSFT' })).toMatchObject({
        FINNHUB_TOKEN: 'fromfile',
        FINNHUB_SYMBOLS: 'MSFT',
      });
      expect(finnhubConfig(environment(dir, {})).token).toBe('fromfile');
      expect(environment(path.join(dir, 'absent'), { A: '1' })).toEqual({ A: '1' });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
