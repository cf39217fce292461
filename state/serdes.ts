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

export const int64Serde: Serde<number> = {
  serialize: (v) => {
    const b = Buffer.allocUnsafe(8);
    b.writeBigInt64BE(BigInt(Math.trunc(v)) ^ -0x8000000000000000n);
    return b;
  },
  deserialize: (b) => Number(b.readBigInt64BE(0) ^ -0x8000000000000000n),
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
    throw new StateStoreError(`unknown serde "${name}"; built-in serdes are ${Object.keys(BY_NAME).join(', ')} (Avro serdes come from the schema registry connector)`, {
      code: 'UNKNOWN_SERDE',
      domain: 'user',
    });
  }
  return s;
}

export const builtInSerdeNames = (): string[] => Object.keys(BY_NAME);
