/**
 * Confluent wire framing: byte 0 is the magic byte (0), bytes 1–4 the schema id (signed
 * 32-bit big-endian), the rest the Avro binary body.
 */
import { SerdeError } from './errors.js';

/** Bytes before the Avro body: magic byte + 4-byte schema id. */
export const HEADER_BYTES = 5;
export const MAGIC_BYTE = 0;

/**
 * The schema id of a Confluent-framed payload, without decoding the body.
 * Throws `SerdeError` `TRUNCATED` (under 5 bytes) or `BAD_MAGIC`.
 *
 * @example schemaIdOf(Buffer.from([0, 0, 0, 0, 7, 2, 65])) // 7
 */
export function schemaIdOf(bytes: Buffer, subject?: string): number {
  if (bytes.length < HEADER_BYTES)
    throw new SerdeError(
      'TRUNCATED',
      `${bytes.length} bytes is too short for a Confluent-framed Avro record (5-byte header: magic byte 0 + schema id)` +
        `${subject ? ` on ${subject}` : ''}; the producer did not use a schema-registry serializer`,
      { ...(subject ? { subject } : {}) },
    );
  if (bytes[0] !== MAGIC_BYTE)
    throw new SerdeError(
      'BAD_MAGIC',
      `magic byte ${bytes[0]} is not 0: not a Confluent-framed Avro record${subject ? ` on ${subject}` : ''}` +
        ` (${describeStart(bytes)}); produce with a schema-registry Avro serializer, or read this topic with another serde`,
      { ...(subject ? { subject } : {}) },
    );
  return bytes.readInt32BE(1);
}

/** Writes the 5-byte header for `schemaId` at the start of `target`. */
export function writeHeader(target: Buffer, schemaId: number): void {
  target[0] = MAGIC_BYTE;
  target.writeInt32BE(schemaId, 1);
}

/** What the first bytes look like, so the message can name the likely format. */
function describeStart(bytes: Buffer): string {
  const first = String.fromCharCode(bytes[0]!);
  if (first === '{' || first === '[') return 'it starts like JSON';
  return `first bytes ${bytes.subarray(0, 8).toString('hex')}`;
}
