import { describe, expect, it } from 'vitest';
import { finnhubConfig } from './config.js';
import { FinnhubConfigError } from './errors.js';
import { jsonLogger, redactingLogger } from './log.js';
import { redact, redactError } from './redact.js';

const TOKEN = 'c0ffee1234secretTOKEN';

describe('token redaction', () => {
  it('masks the token wherever it appears, and any token= query value', () => {
    expect(redact(`wss://ws.finnhub.io/?token=${TOKEN}`, [TOKEN])).toBe(
      'wss://ws.finnhub.io/?token=***',
    );
    expect(redact(`wss://x/?a=1&token=${TOKEN}&b=2`)).toBe('wss://x/?a=1&token=***&b=2');
    expect(redact(`key ${TOKEN} was refused; again: ${TOKEN}`, [TOKEN])).toBe(
      'key *** was refused; again: ***',
    );
    expect(redact('nothing secret here', [TOKEN, undefined, ''])).toBe('nothing secret here');
  });

  it('errors keep their name and code, not the token', () => {
    const err = Object.assign(new Error(`connect to wss://ws.finnhub.io?token=${TOKEN} failed`), {
      code: 'ECONNRESET',
    });
    const clean = redactError(err, [TOKEN]);
    expect(clean.message).not.toContain(TOKEN);
    expect(clean).toMatchObject({ name: 'Error', code: 'ECONNRESET' });
  });

  it('a redacting logger never lets the token through, in the message or any field', () => {
    const lines: string[] = [];
    const log = redactingLogger(jsonLogger({ level: 'debug', write: (l) => lines.push(l) }), [
      TOKEN,
    ]);
    log.warn(`reconnecting to wss://ws.finnhub.io?token=${TOKEN}`, {
      url: `wss://ws.finnhub.io?token=${TOKEN}`,
      nested: { deep: [TOKEN] },
      error: new Error(`bad ${TOKEN}`),
    });
    log.debug(TOKEN);
    expect(lines).toHaveLength(2);
    for (const l of lines) expect(l).not.toContain(TOKEN);
    expect(JSON.parse(lines[0]!)).toMatchObject({
      level: 'warn',
      url: 'wss://ws.finnhub.io?token=***',
      nested: { deep: ['***'] },
      error: { message: 'bad ***' },
    });
  });

  it('is quiet by default: only warn and error are written', () => {
    const lines: string[] = [];
    const log = jsonLogger({ write: (l) => lines.push(l) });
    log.info('a');
    log.debug('b');
    log.warn('c');
    log.error('d');
    expect(lines.map((l) => JSON.parse(l).msg)).toEqual(['c', 'd']);
  });

  it('config errors never print the token', () => {
    for (const env of [
      { FINNHUB_TOKEN: `${TOKEN} extra` },
      { FINNHUB_TOKEN: TOKEN, FINNHUB_WS_URL: `wss://ws.finnhub.io?token=${TOKEN}` },
      { FINNHUB_TOKEN: TOKEN, FINNHUB_WS_URL: `https://ws.finnhub.io?token=${TOKEN}` },
    ]) {
      let err: unknown;
      try {
        finnhubConfig(env);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(FinnhubConfigError);
      expect((err as Error).message).not.toContain(TOKEN);
    }
  });
});
