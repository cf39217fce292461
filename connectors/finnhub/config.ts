/**
 * Finnhub WebSocket settings, from the environment or a `.env` file in the working
 * directory (the environment wins), validated with zod. Errors name the variable and the
 * fix, and never print the token.
 *
 * | variable                    | default                | meaning |
 * |-----------------------------|------------------------|---------|
 * | `FINNHUB_TOKEN`             | (none: synthetic feed) | API key from https://finnhub.io/dashboard |
 * | `FINNHUB_WS_URL`            | `wss://ws.finnhub.io`  | WebSocket endpoint (`ws://` for a local server) |
 * | `FINNHUB_SYMBOLS`           | `AAPL,MSFT,AMZN,NVDA,BINANCE:BTCUSDT,BINANCE:ETHUSDT` | comma-separated symbols to subscribe |
 * | `FINNHUB_RECONNECT_INITIAL` | `500ms`                | ceiling of the first reconnect delay |
 * | `FINNHUB_RECONNECT_MAX`     | `30s`                  | cap on any reconnect delay |
 * | `FINNHUB_IDLE_TIMEOUT`      | `60s`                  | reconnect when nothing (not even a ping) arrived for this long |
 */
import { z } from 'zod';
import type { BackoffOptions } from '../common/backoff.js';
import { environment } from './env-file.js';
import { FinnhubConfigError, type ConfigIssue } from './errors.js';
import { redact } from './redact.js';

export const DEFAULT_WS_URL = 'wss://ws.finnhub.io';
export const DEFAULT_SYMBOLS = 'AAPL,MSFT,AMZN,NVDA,BINANCE:BTCUSDT,BINANCE:ETHUSDT';

/** Validated Finnhub settings (frozen). */
export interface FinnhubConfig {
  /** The API key; `undefined` when none is set (callers fall back to the synthetic feed). */
  token: string | undefined;
  /** The endpoint without the token (safe to print). */
  url: string;
  /** Symbols to subscribe, e.g. `['AAPL', 'BINANCE:BTCUSDT']`. */
  symbols: string[];
  reconnect: BackoffOptions;
  /** Reconnect when no frame arrived for this long, ms. */
  idleTimeoutMs: number;
}

// Finnhub symbols: tickers, `EXCHANGE:PAIR`, forex venues with spaces (`IC MARKETS:1`).
const SYMBOL = /^[A-Za-z0-9^][A-Za-z0-9 .:_\-/=^&]*$/;
const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

function duration(variable: string, example: string, fallback: string) {
  return z
    .string()
    .default(fallback)
    .transform((s, ctx) => {
      const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)$/.exec(s.trim());
      if (m && Number(m[1]) > 0) return Math.round(Number(m[1]) * UNITS[m[2]!]!);
      ctx.addIssue({
        code: 'custom',
        message: `"${s}" is not a positive duration; write e.g. ${variable}=${example}`,
      });
      return z.NEVER;
    });
}

const schema = z.object({
  FINNHUB_TOKEN: z
    .string()
    .optional()
    .transform((v) => (v?.trim() ? v.trim() : undefined))
    .refine((v) => v === undefined || /^\S+$/.test(v), {
      message:
        'contains whitespace; paste the API key from https://finnhub.io/dashboard as it is (value not shown)',
    }),
  FINNHUB_WS_URL: z
    .string()
    .default(DEFAULT_WS_URL)
    .transform((s, ctx) => checkUrl(s.trim(), ctx)),
  FINNHUB_SYMBOLS: z
    .string()
    .default(DEFAULT_SYMBOLS)
    .transform((s, ctx) => checkSymbols(s, ctx)),
  FINNHUB_RECONNECT_INITIAL: duration('FINNHUB_RECONNECT_INITIAL', '500ms', '500ms'),
  FINNHUB_RECONNECT_MAX: duration('FINNHUB_RECONNECT_MAX', '30s', '30s'),
  FINNHUB_IDLE_TIMEOUT: duration('FINNHUB_IDLE_TIMEOUT', '60s', '60s'),
});

function checkUrl(s: string, ctx: z.RefinementCtx): string {
  let url: URL | undefined;
  try {
    url = new URL(s);
  } catch {
    /* reported below */
  }
  const shown = redact(s);
  if (!url || (url.protocol !== 'wss:' && url.protocol !== 'ws:'))
    ctx.addIssue({
      code: 'custom',
      message: `"${shown}" is not a WebSocket URL; set FINNHUB_WS_URL=${DEFAULT_WS_URL} (or ws://host:port for a local server)`,
    });
  else if (url.searchParams.has('token'))
    ctx.addIssue({
      code: 'custom',
      message: `holds a token (${shown}); put the key in FINNHUB_TOKEN and leave it out of the URL`,
    });
  return s;
}

function checkSymbols(s: string, ctx: z.RefinementCtx): string[] {
  const symbols = [...new Set(s.split(',').map((x) => x.trim()))].filter(Boolean);
  const bad = symbols.filter((x) => !SYMBOL.test(x));
  if (!symbols.length)
    ctx.addIssue({
      code: 'custom',
      message: 'lists no symbol; write e.g. FINNHUB_SYMBOLS=AAPL,MSFT,BINANCE:BTCUSDT',
    });
  if (bad.length)
    ctx.addIssue({
      code: 'custom',
      message: `${bad.map((b) => JSON.stringify(b)).join(', ')} ${bad.length > 1 ? 'are not symbols' : 'is not a symbol'}; write e.g. FINNHUB_SYMBOLS=AAPL,MSFT,BINANCE:BTCUSDT`,
    });
  return symbols;
}

/**
 * The Finnhub settings in `env` (default: the process environment over `./.env`).
 * Throws `FinnhubConfigError` listing every bad variable.
 *
 * @example const cfg = finnhubConfig(); if (cfg.token) new FinnhubWebSocketSource({ config: cfg, sink })
 */
export function finnhubConfig(
  env: Record<string, string | undefined> = environment(),
): Readonly<FinnhubConfig> {
  const r = schema.safeParse(env);
  if (!r.success) throw new FinnhubConfigError(issuesOf(r.error));
  const v = r.data;
  if (v.FINNHUB_RECONNECT_MAX < v.FINNHUB_RECONNECT_INITIAL)
    throw new FinnhubConfigError([
      {
        variable: 'FINNHUB_RECONNECT_MAX',
        problem: `is shorter than FINNHUB_RECONNECT_INITIAL; make it at least as long (e.g. 30s)`,
      },
    ]);
  return Object.freeze({
    token: v.FINNHUB_TOKEN,
    url: v.FINNHUB_WS_URL,
    symbols: Object.freeze(v.FINNHUB_SYMBOLS) as string[],
    reconnect: Object.freeze({
      initialMs: v.FINNHUB_RECONNECT_INITIAL,
      maxMs: v.FINNHUB_RECONNECT_MAX,
    }),
    idleTimeoutMs: v.FINNHUB_IDLE_TIMEOUT,
  });
}

function issuesOf(error: z.ZodError): ConfigIssue[] {
  return error.issues.map((i) => ({
    variable: String(i.path[0] ?? 'environment'),
    problem: i.code === 'invalid_type' ? 'must be text' : i.message,
  }));
}
