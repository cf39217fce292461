/**
 * Keeps the Finnhub token out of logs, errors and printed URLs: every known secret is
 * replaced by `***`, and any `token=` query parameter is masked even when the secret is
 * not known (a URL built elsewhere, a server echoing it back).
 */

const MASK = '***';
const TOKEN_PARAM = /([?&]token=)[^&#\s"'\\]+/gi;

/**
 * `text` with each secret (4 characters or more) and every `token=` value masked.
 *
 * @example redact('wss://ws.finnhub.io?token=abc123', ['abc123']) // 'wss://ws.finnhub.io?token=***'
 */
export function redact(text: string, secrets: readonly (string | undefined)[] = []): string {
  let out = text.replace(TOKEN_PARAM, `$1${MASK}`);
  for (const s of secrets) if (s && s.length >= 4) out = out.split(s).join(MASK);
  return out;
}

/** An error whose message (and cause chain's messages) no longer hold a secret. */
export function redactError(err: unknown, secrets: readonly (string | undefined)[]): Error {
  const e = err instanceof Error ? err : new Error(String(err));
  const clean = new Error(redact(e.message, secrets));
  clean.name = e.name;
  const code = (e as { code?: unknown }).code;
  if (code !== undefined) (clean as Error & { code?: unknown }).code = code;
  return clean;
}
