/**
 * Loads the sink DDL from `schemas/*.sql`. The files are plain SQL with `${name}`
 * placeholders (the same syntax Terraform's templatefile uses), filled from config:
 * `${trades_primary_key}` always, `${database}` and `${schema}` for Snowflake.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SinkError } from './errors.js';

/** The repository's `schemas/` folder. */
export const SCHEMAS_DIR = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  'schemas',
);

/**
 * Reads a DDL file, fills its placeholders and splits it into statements (comments
 * dropped; statements end with `;` at the end of a line).
 * @throws SinkError `SINK_CONFIG_INVALID` when a placeholder has no value.
 */
export function loadDdl(
  file: string,
  vars: Readonly<Record<string, string>>,
  sink: string,
): string[] {
  const text = fs.readFileSync(path.resolve(SCHEMAS_DIR, file), 'utf8');
  return splitStatements(text).map((stmt) =>
    stmt.replace(/\$\{(\w+)\}/g, (_m, name: string) => {
      const v = vars[name];
      if (v === undefined)
        throw new SinkError(
          `${sink} sink: ${file} uses \${${name}} but no value was given for it`,
          { code: 'SINK_CONFIG_INVALID', domain: 'internal', sink },
        );
      return v;
    }),
  );
}

/** Splits SQL text into statements, dropping `--` comment lines. */
export function splitStatements(sql: string): string[] {
  const body = sql
    .split('\n')
    .filter((l) => !l.trim().startsWith('--'))
    .join('\n');
  return body
    .split(/;\s*$/m)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}
