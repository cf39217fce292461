/**
 * Built-in serdes, by name for topology specs (`serdeByName`). Range scans follow the byte
 * order of serialized keys: UTF-8 order for strings, numeric order for non-negative int64.
 */
import type { Serde } from './api.js';
import { StateStoreError } from './errors.js';

/** UTF-8 text. */
export const stringSerde: Serde<string> = {
  serialize: (v) => Buffer.from(v, 'utf8'),
  deserialize: (b) => b.toString('utf8'),
};

/** Any JSON-serialisable value, as UTF-8 JSON text. */
export const jsonSerde: Serde<unknown> = {
  serialize: (v) => Buffer.from(JSON.stringify(v), 'utf8'),
  deserialize: (b) => JSON.parse(b.toString('utf8')) as unknown,
};

/** Buffers as they are (no copy: do not modify a Buffer after handing it to a store). */
export const bytesSerde: Serde<Buffer> = {
  serialize: (v) => v,
  deserialize: (b) => b,
};

const TWO32 = 4294967296;

/**
 * 8-byte big-endian two's-complement integers, the wire format of Kafka's LongSerializer.
 * Byte order equals numeric order for non-negative values (negatives sort after them).
 * JavaScript numbers: safe integers only (|v| <= 2^53 - 1); larger longs written by others
 * lose precision when read. No BigInt on the hot path.
 */
export const int64Serde: Serde<number> = {
  serialize: (v) => {
    if (!Number.isSafeInteger(v)) throw notInt64(v);
    const b = Buffer.allocUnsafe(8);
    const hi = Math.floor(v / TWO32);
    b.writeInt32BE(hi, 0);
    b.writeUInt32BE(v - hi * TWO32, 4);
    return b;
  },
  deserialize: (b) => b.readInt32BE(0) * TWO32 + b.readUInt32BE(4),
};

function notInt64(v: number): StateStoreError {
  return new StateStoreError(
    `the int64 serde takes safe integers (|v| <= 2^53 - 1), got ${v}; round the value, or use float64 for fractions`,
    { code: 'SERDE_NOT_INT64', domain: 'user' },
  );
}

/** IEEE 754 doubles, 8 bytes big-endian (Kafka's DoubleSerializer). */
export const float64Serde: Serde<number> = {
  serialize: (v) => {
    const b = Buffer.allocUnsafe(8);
    b.writeDoubleBE(v);
    return b;
  },
  deserialize: (b) => b.readDoubleBE(0),
};

const BY_NAME: Record<string, Serde<unknown>> = {
  string: stringSerde,
  json: jsonSerde,
  bytes: bytesSerde,
  int64: int64Serde,
  float64: float64Serde,
};

/** The built-in serde called `name`; a clear error lists the known names otherwise. */
export function serdeByName(name: string): Serde<unknown> {
  const s = BY_NAME[name];
  if (!s) {
    throw new StateStoreError(
      `unknown serde "${name}"; built-in serdes are ${Object.keys(BY_NAME).join(', ')} (Avro serdes come from the schema registry connector)`,
      {
        code: 'UNKNOWN_SERDE',
        domain: 'user',
      },
    );
  }
  return s;
}

export const builtInSerdeNames = (): string[] => Object.keys(BY_NAME);

/**
 * Makes `serde` known by `name` to topology specs (stores and topics name their serdes),
 * as processor types are registered: e.g. a processor library's compact binary format for
 * its store values. Registering the same serde again is a no-op; a name already taken by
 * another serde is an error.
 */
export function registerSerde(name: string, serde: Serde<unknown>): void {
  const taken = BY_NAME[name];
  if (taken === serde) return;
  if (taken)
    throw new StateStoreError(
      `a serde named "${name}" is already registered; register yours under another name`,
      { code: 'SERDE_NAME_TAKEN', domain: 'user' },
    );
  BY_NAME[name] = serde;
}
