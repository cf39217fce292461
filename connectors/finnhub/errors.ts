/**
 * Typed errors of the Finnhub connector, shaped like every millrace error: `code`,
 * `domain` (`user` | `external` | `internal`), `retriable`, and a message that says what
 * to do. None of them ever holds the Finnhub token.
 */

export type FinnhubErrorDomain = 'user' | 'external' | 'internal';

export class FinnhubError extends Error {
  readonly code: string;
  readonly domain: FinnhubErrorDomain;
  readonly retriable: boolean;

  constructor(
    message: string,
    opts: { code: string; domain: FinnhubErrorDomain; retriable?: boolean; cause?: unknown },
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.code = opts.code;
    this.domain = opts.domain;
    this.retriable = opts.retriable ?? false;
  }
}

/** One bad setting: the variable, what is wrong, and the fix. */
export interface ConfigIssue {
  variable: string;
  problem: string;
}

/** Invalid Finnhub settings; `issues` lists each variable with its problem and fix. */
export class FinnhubConfigError extends FinnhubError {
  constructor(readonly issues: ConfigIssue[]) {
    super(
      `invalid Finnhub settings (environment or .env): ${issues.map((i) => `${i.variable}: ${i.problem}`).join('; ')}`,
      { code: 'CONFIG_INVALID', domain: 'user' },
    );
  }
}

/** Finnhub refused the token at the WebSocket handshake (HTTP 401/403). */
export class FinnhubAuthError extends FinnhubError {
  constructor(status: number) {
    super(
      `Finnhub refused the API token (HTTP ${status}): set FINNHUB_TOKEN to the key shown at https://finnhub.io/dashboard (the token is never printed)`,
      { code: 'AUTH_REFUSED', domain: 'user' },
    );
  }
}
