/**
 * Source offsets as the sink runner hands them over (`"topic:partition"` → next offset to
 * read) and as `millrace_offsets` stores them (one row per sink, topic and partition).
 */
import { SinkError } from './errors.js';
import type { Cell } from './rows.js';

/** Key of an offsets map: `${topic}:${partition}` (Kafka topic names contain no `:`). */
export function offsetKey(topic: string, partition: number): string {
  return `${topic}:${partition}`;
}

/**
 * The `millrace_offsets` rows for one write, in that table's column order.
 * @throws SinkError `SINK_ROW_INVALID` for a malformed key or offset.
 */
export function offsetRows(
  sinkId: string,
  offsets: ReadonlyMap<string, number>,
  nowMs: number,
  sink: string,
): Cell[][] {
  return [...offsets].map(([key, next]) => {
    const at = key.lastIndexOf(':');
    const topic = key.slice(0, at);
    const partition = Number(key.slice(at + 1));
    if (
      at <= 0 ||
      !Number.isSafeInteger(partition) ||
      partition < 0 ||
      !Number.isSafeInteger(next) ||
      next < 0
    ) {
      throw new SinkError(
        `${sink} sink: offset ${key} → ${next} is not "topic:partition" → a non-negative integer offset`,
        {
          code: 'SINK_ROW_INVALID',
          domain: 'internal',
          sink,
        },
      );
    }
    return [sinkId, topic, partition, next, nowMs];
  });
}
