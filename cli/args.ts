/** A small flag parser: `--name value`, `--name=value`, boolean `--flag`, positionals. */
import { UsageError } from './errors.js';

export interface Parsed {
  positionals: string[];
  flags: Record<string, string | true>;
}

export function parseArgs(
  argv: string[],
  known: { values?: string[]; booleans?: string[] },
): Parsed {
  const values = new Set(known.values ?? []);
  const booleans = new Set([...(known.booleans ?? []), 'help']);
  const out: Parsed = { positionals: [], flags: {} };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '-h') {
      out.flags.help = true;
      continue;
    }
    if (!a.startsWith('--')) {
      out.positionals.push(a);
      continue;
    }
    const [name, inline] = a.slice(2).split('=', 2) as [string, string | undefined];
    if (booleans.has(name)) out.flags[name] = true;
    else if (values.has(name)) {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new UsageError(`--${name} needs a value`);
      out.flags[name] = v;
    } else
      throw new UsageError(
        `unknown option --${name}; known: ${[...values, ...booleans].map((x) => `--${x}`).join(', ')}`,
      );
  }
  return out;
}
