/**
 * Keys, values and cursors of interactive queries as text. A key arrives as the text of
 * a URL parameter and is read by the store's key serde: the text itself for `string` keys,
 * a number for `int64`/`float64`, JSON for any other serde (`json`, Avro); `keyHex` gives
 * the serialized bytes instead, for any serde. Values go out as JSON (Buffers as base64,
 * bigints as strings). A cursor names the last entry of a page: its partition and the bytes
 * of its key (and its window start), in the order pages are read.
 */
import type { Serde } from '../../state/api.js';
import { QueryError } from './errors.js';

/** Reads the key `text` for a store whose key serde is `serdeName`. */
export function parseKey(text: string, serdeName: string): unknown {
  if (serdeName === 'string') return text;
  if (serdeName === 'int64' || serdeName === 'float64') {
    const n = Number(text);
    if (text.trim() === '' || !Number.isFinite(n))
      throw new QueryError(
        `the key "${text}" is not a number (the store's keys are ${serdeName})`,
        {
          code: 'BAD_KEY',
          status: 400,
        },
      );
    return n;
  }
  if (serdeName === 'bytes') return Buffer.from(text, 'utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new QueryError(
      `the key ${JSON.stringify(text)} is not JSON (the store's keys are ${serdeName}): quote a string key, e.g. "\\"AAPL\\"", or give its bytes as keyHex`,
      { code: 'BAD_KEY', status: 400 },
    );
  }
}

/** Reads `keyHex` (the serialized key) with the store's key serde. */
export function keyFromHex(hex: string, serde: Serde<unknown>): unknown {
  if (!/^([0-9a-f]{2})*$/i.test(hex))
    throw new QueryError(`keyHex "${hex}" is not hex bytes`, { code: 'BAD_KEY', status: 400 });
  try {
    return serde.deserialize(Buffer.from(hex, 'hex'));
  } catch (err) {
    throw new QueryError(`keyHex "${hex}" is not a key of this store: ${(err as Error).message}`, {
      code: 'BAD_KEY',
      status: 400,
    });
  }
}

/** JSON text of an answer: Buffers as base64, bigints as strings. */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => {
    if (typeof v === 'bigint') return v.toString();
    if (v && typeof v === 'object' && (v as { type?: unknown }).type === 'Buffer')
      return Buffer.from((v as { data: number[] }).data).toString('base64');
    return v;
  });
}

/** Where a page ended: the last entry's partition and key bytes (and window start). */
export interface Cursor {
  partition: number;
  keyHex: string;
  /** Window and session scans: the last entry's time. */
  time?: number;
}

export function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify([c.partition, c.keyHex, c.time ?? null])).toString('base64url');
}

export function decodeCursor(text: string): Cursor {
  try {
    const [partition, keyHex, time] = JSON.parse(
      Buffer.from(text, 'base64url').toString('utf8'),
    ) as [unknown, unknown, unknown];
    if (
      Number.isInteger(partition) &&
      typeof keyHex === 'string' &&
      /^[0-9a-f]*$/.test(keyHex) &&
      (time === null || Number.isFinite(time))
    )
      return {
        partition: partition as number,
        keyHex,
        ...(time === null ? {} : { time: time as number }),
      };
  } catch {
    /* below */
  }
  throw new QueryError(`cursor "${text}" is not one this service gave; start again without it`, {
    code: 'BAD_CURSOR',
    status: 400,
  });
}

/**
 * Order of entries across partitions: by time (window scans), then key bytes, then
 * partition. Hex of bytes compares as the bytes do.
 */
export function compareEntries(a: Cursor, b: Cursor): number {
  const t = (a.time ?? 0) - (b.time ?? 0);
  if (t) return t;
  if (a.keyHex !== b.keyHex) return a.keyHex < b.keyHex ? -1 : 1;
  return a.partition - b.partition;
}
