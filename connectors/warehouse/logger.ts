/**
 * The logging a sink needs: structured, one message plus fields. The runtime's logger
 * (runtime/log.ts) fits it; by default sinks are silent.
 */
export interface SinkLogger {
  warn(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  debug(msg: string, fields?: Record<string, unknown>): void;
}

/** A logger that drops everything. */
export const silentLogger: SinkLogger = { warn: () => {}, info: () => {}, debug: () => {} };
