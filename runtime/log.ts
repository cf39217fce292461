/** Structured logs: one JSON object a line on stderr, quiet (warn and above) by default. */

export type LogLevel = 'error' | 'warn' | 'info' | 'debug';
const RANK: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };

export interface Logger {
  error(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  debug(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

export function createLogger(
  level: LogLevel = 'warn',
  base: Record<string, unknown> = {},
  sink: (line: string) => void = (l) => process.stderr.write(l + '\n'),
): Logger {
  const emit = (lvl: LogLevel, msg: string, fields?: Record<string, unknown>) => {
    if (RANK[lvl] > RANK[level]) return;
    sink(
      JSON.stringify(
        { time: new Date().toISOString(), level: lvl, msg, ...base, ...fields },
        errorReplacer,
      ),
    );
  };
  return {
    error: (m, f) => emit('error', m, f),
    warn: (m, f) => emit('warn', m, f),
    info: (m, f) => emit('info', m, f),
    debug: (m, f) => emit('debug', m, f),
    child: (fields) => createLogger(level, { ...base, ...fields }, sink),
  };
}

function errorReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) {
    const out: Record<string, unknown> = {
      name: value.name,
      message: value.message,
      code: (value as { code?: unknown }).code,
    };
    // The Kafka client's error under ours says what the broker answered (e.g.
    // UNKNOWN_MEMBER_ID). Only the client's: other causes (a warehouse driver's) may
    // quote connection details.
    const cause = (value as { cause?: unknown }).cause;
    if (cause instanceof Error && cause.name.startsWith('KafkaJS'))
      out.cause = {
        name: cause.name,
        type: (cause as { type?: unknown }).type,
        message: cause.message,
      };
    return out;
  }
  return value;
}
