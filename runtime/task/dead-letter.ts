/**
 * Dead letters: the original bytes of the input record in hand, with headers saying why
 * (`millrace.reason`), where it failed (`millrace.processor`, `millrace.task`), where it
 * came from (`millrace.source.topic|partition|offset|timestamp`) and the error
 * (`millrace.error`). A dead letter's own timestamp is when it was written.
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
  /** The input record's own timestamp (epoch ms); the dead letter is stamped when it was written. */
  timestamp: 'millrace.source.timestamp',
  error: 'millrace.error',
  /** Set when the dead letter carries only the start of the record (see DEAD_LETTER_MAX_BYTES). */
  truncated: 'millrace.truncated',
  keySize: 'millrace.original.key.size',
  valueSize: 'millrace.original.value.size',
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
  const original = c.raw?.timestamp ?? c.record?.timestamp;
  if (original !== undefined) h[DLQ_HEADERS.timestamp] = String(original);
  if (c.error !== undefined) h[DLQ_HEADERS.error] = messageOf(c.error).slice(0, 1000);
  return h;
}

/**
 * Most bytes of key, value and headers a dead letter carries. An input record near the
 * broker's size limit (`message.max.bytes`, 1 MiB by default) would no longer fit with the
 * dead-letter headers added, and a commit that cannot write its dead letter would stop the
 * partition on that record (a poison pill). Such a dead letter keeps the start of the value,
 * and says so: `millrace.truncated` and the original sizes; the whole record is still in its
 * source topic at the offset the headers give.
 */
export const DEAD_LETTER_MAX_BYTES = 1_000_000;

export function deadLetterRecord(c: DeadLetterCause): OutputRecord {
  const { raw, record } = c;
  return fit({
    topic: c.topic,
    key: raw ? raw.key : json(record?.key),
    value: raw ? raw.value : json(record?.value),
    // Stamped now, not with the record's time: the broker deletes by timestamp, so a dead
    // letter of a record from long ago (a replay, a backfill) would be gone at its next
    // retention check. The record's time is in the millrace.source.timestamp header.
    timestamp: c.now,
    headers: headers(c),
  });
}

function fit(r: OutputRecord, max = DEAD_LETTER_MAX_BYTES): OutputRecord {
  const keyBytes = r.key?.length ?? 0;
  const valueBytes = r.value?.length ?? 0;
  let headerBytes = 0;
  for (const [k, v] of Object.entries(r.headers ?? {})) headerBytes += k.length + (v?.length ?? 0);
  if (keyBytes + valueBytes + headerBytes <= max) return r;
  const headers = {
    ...r.headers,
    [DLQ_HEADERS.truncated]: 'true',
    [DLQ_HEADERS.keySize]: String(keyBytes),
    [DLQ_HEADERS.valueSize]: String(valueBytes),
  };
  const room = Math.max(0, max - headerBytes - 200);
  const key = r.key && r.key.length > room / 2 ? r.key.subarray(0, Math.floor(room / 2)) : r.key;
  const value = r.value?.subarray(0, Math.max(0, room - (key?.length ?? 0))) ?? null;
  return { ...r, key, value, headers };
}
