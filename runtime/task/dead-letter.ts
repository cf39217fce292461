/**
 * Dead letters: the original bytes of the input record in hand, with headers saying why
 * (`millrace.reason`), where it failed (`millrace.processor`, `millrace.task`), where it
 * came from (`millrace.source.topic|partition|offset`) and the error (`millrace.error`).
 */
import type { StreamRecord } from '../../processors/api.js';
import { messageOf } from './errors.js';
import type { OutputRecord, RawRecord } from './types.js';

export const DLQ_HEADERS = {
  reason: 'millrace.reason',
  processor: 'millrace.processor',
  task: 'millrace.task',
  topic: 'millrace.source.topic',
  partition: 'millrace.source.partition',
  offset: 'millrace.source.offset',
  error: 'millrace.error',
} as const;

export interface DeadLetterCause {
  topic: string;
  task: string;
  processor: string;
  reason: string;
  error?: unknown;
  /** The input record in hand (absent inside a punctuation). */
  raw?: RawRecord;
  /** The record the processor gave, sent as JSON when there is no input record. */
  record?: StreamRecord;
  now: number;
}

function json(x: unknown): Buffer | null {
  if (x === null || x === undefined) return null;
  try {
    return Buffer.from(JSON.stringify(x));
  } catch {
    return Buffer.from(String(x));
  }
}

function headers(c: DeadLetterCause): Record<string, string | Buffer> {
  const h: Record<string, string | Buffer> = {};
  for (const [k, v] of Object.entries(c.raw?.headers ?? c.record?.headers ?? {}))
    if (v !== undefined) h[k] = v;
  h[DLQ_HEADERS.reason] = c.reason;
  h[DLQ_HEADERS.processor] = c.processor;
  h[DLQ_HEADERS.task] = c.task;
  if (c.raw) {
    h[DLQ_HEADERS.topic] = c.raw.topic;
    h[DLQ_HEADERS.partition] = String(c.raw.partition);
    h[DLQ_HEADERS.offset] = String(c.raw.offset);
  }
  if (c.error !== undefined) h[DLQ_HEADERS.error] = messageOf(c.error).slice(0, 1000);
  return h;
}

export function deadLetterRecord(c: DeadLetterCause): OutputRecord {
  const { raw, record } = c;
  return {
    topic: c.topic,
    key: raw ? raw.key : json(record?.key),
    value: raw ? raw.value : json(record?.value),
    timestamp: raw?.timestamp ?? record?.timestamp ?? c.now,
    headers: headers(c),
  };
}
