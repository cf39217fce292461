/**
 * Built-in serdes. Keys are compared in the byte order of their serialized form, so
 * `int64` is big-endian with the sign bit flipped (numeric order = byte order).
 */
import type { Serde } from './api.js';
import { StateStoreError } from './errors.js';

export const stringSerde: Serde<string> = {
  serialize: (v) => Buffer.from(v, 'utf8'),
  deserialize: (b) => b.toString('utf8'),
};

export const jsonSerde: Serde<unknown> = {
  serialize: (v) => Buffer.from(JSON.stringify(v), 'utf8'),
  deserialize: (b) => JSON.parse(b.toString('utf8')) as unknown,
};

export const bytesSerde: Serde<Buffer> = {
  serialize: (v) => v,
  deserialize: (b) => b,
};

const TWO32 = 4294967296;

/** Big-endian, sign bit flipped; safe integers only (JavaScript numbers), no BigInt on the hot path. */
export const int64Serde: Serde<number> = {
  serialize: (v) => {
    const n = Math.trunc(v);
    const b = Buffer.allocUnsafe(8);
    const hi = Math.floor(n / TWO32);
    b.writeInt32BE(hi | 0, 0);
    b.writeUInt32BE(n - hi * TWO32, 4);
    b[0]! ^= 0x80;
    return b;
  },
  deserialize: (b) => ((b.readInt32BE(0) ^ 0x80000000) | 0) * TWO32 + b.readUInt32BE(4),
};

export const float64Serde: Serde<number> = {
  serialize: (v) => {
    const b = Buffer.allocUnsafe(8);
    b.writeDoubleBE(v);
    return b;
  },
  deserialize: (b) => b.readDoubleBE(0),
};

const BY_NAME: Record<string, Serde<any>> = {
  string: stringSerde,
  json: jsonSerde,
  bytes: bytesSerde,
  int64: int64Serde,
  float64: float64Serde,
};

/** The built-in serde called `name`; a clear error lists the known names otherwise. */
export function serdeByName(name: string): Serde<any> {
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
