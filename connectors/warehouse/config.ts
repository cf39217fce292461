/**
 * Config pieces both sinks share, and turning zod issues into one SinkError whose
 * message names each bad field and its fix.
 */
import { z } from 'zod';
import { SinkError } from './errors.js';

/** `symbol+timestamp` (default) or `content`; see {@link DedupeKey}. */
export const dedupeKeySchema = z.enum(['symbol+timestamp', 'content']);

/**
 * Parses `input` with `schema`; on failure throws `SINK_CONFIG_INVALID` listing every
 * issue as `<field>: <problem> — <fix>`. `fieldName` maps a config path to what the user
 * set (e.g. an environment variable); `fixes` gives the fix per field.
 */
export function parseConfig<T extends z.ZodType>(
  schema: T,
  input: unknown,
  sink: string,
  fieldName: (path: string) => string = (p) => p,
  fixes: Readonly<Record<string, string>> = {},
): z.output<T> {
  const r = schema.safeParse(input);
  if (r.success) return r.data;
  const lines = r.error.issues.map((i) => {
    const p = i.path.join('.');
    return `${fieldName(p) || '(config)'}: ${i.message}${fixes[p] ? ` — ${fixes[p]}` : ''}`;
  });
  throw new SinkError(`${sink} sink config is invalid:\n  ${lines.join('\n  ')}`, {
    code: 'SINK_CONFIG_INVALID',
    domain: 'user',
    sink,
  });
}
