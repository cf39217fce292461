/**
 * A tiny `.env` reader (no dependency): `KEY=value` lines, `export KEY=value`, `#`
 * comments, single- or double-quoted values (double quotes understand `\n`, `\"`,
 * `\\`), and ` #` comments after unquoted values. Variables already in the environment
 * win over the file.
 */
import fs from 'node:fs';
import path from 'node:path';

const LINE = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/;

/**
 * The variables in `.env` text.
 *
 * @example parseDotEnv('FINNHUB_TOKEN="abc" # mine\nFINNHUB_SYMBOLS=AAPL,MSFT') // { FINNHUB_TOKEN: 'abc', FINNHUB_SYMBOLS: 'AAPL,MSFT' }
 */
export function parseDotEnv(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split(/\r?\n/)) {
    if (/^\s*(#|$)/.test(raw)) continue;
    const m = LINE.exec(raw);
    if (m) out[m[1]!] = unquote(m[2]!);
  }
  return out;
}

function unquote(v: string): string {
  const q = v[0];
  if ((q === '"' || q === "'") && v.lastIndexOf(q) > 0) {
    const inner = v.slice(1, v.lastIndexOf(q));
    if (q === "'") return inner;
    return inner.replace(/\\([nrt"\\])/g, (_, c: string) =>
      c === 'n' ? '\n' : c === 'r' ? '\r' : c === 't' ? '\t' : c,
    );
  }
  return v.replace(/\s+#.*$/, '');
}

/**
 * The process environment over the `.env` file in `cwd` (absent file: the environment
 * alone). Unreadable files are an error naming the file.
 *
 * @example const env = environment(); env.FINNHUB_TOKEN
 */
export function environment(
  cwd: string = process.cwd(),
  env: NodeJS.ProcessEnv = process.env,
): Record<string, string | undefined> {
  const file = path.join(cwd, '.env');
  let fromFile: Record<string, string> = {};
  if (fs.existsSync(file)) fromFile = parseDotEnv(fs.readFileSync(file, 'utf8'));
  return { ...fromFile, ...definedOnly(env) };
}

function definedOnly(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = v;
  return out;
}
