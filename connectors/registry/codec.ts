/**
 * Avro body encoding and decoding with Confluent framing, failures turned into
 * `SerdeError`s that name the field or the damage.
 */
import type avro from 'avsc';
import { SerdeError } from './errors.js';
import { HEADER_BYTES, writeHeader } from './framing.js';

type Resolver = ReturnType<avro.Type['createResolver']>;

// Encoding into one growing scratch buffer, then copying out once, avoids avsc's
// second buffer and our header copy per record.
let scratch = Buffer.allocUnsafe(64 * 1024);

/** `value` as header + Avro body for schema `id`; `SCHEMA_MISMATCH` naming the bad fields. */
export function encodeValue(type: avro.Type, id: number, value: unknown, subject: string): Buffer {
  let end: number;
  try {
    end = type.encode(value, scratch, HEADER_BYTES);
    if (end < 0) {
      scratch = Buffer.allocUnsafe(Math.max(scratch.length * 2, scratch.length - end));
      end = type.encode(value, scratch, HEADER_BYTES);
    }
  } catch (err) {
    throw mismatch(type, value, subject, err);
  }
  writeHeader(scratch, id);
  return Buffer.from(scratch.subarray(0, end));
}

/** The value in `bytes` (header already checked), read through `resolver` when given. */
export function decodeBody(
  type: avro.Type,
  bytes: Buffer,
  resolver: Resolver | undefined,
  id: number,
  subject: string,
): unknown {
  try {
    return type.fromBuffer(bytes.subarray(HEADER_BYTES), resolver);
  } catch (err) {
    const msg = (err as Error).message;
    const truncated = /truncated/i.test(msg);
    throw new SerdeError(
      truncated ? 'TRUNCATED' : 'DECODE_FAILED',
      `cannot decode the Avro body (${bytes.length - HEADER_BYTES} bytes, schema id ${id}) on ${subject}: ${msg}; ` +
        (truncated
          ? 'the record was cut short by its producer'
          : 'the bytes are corrupt or were written with a different schema than their id says'),
      { schemaId: id, subject, cause: err },
    );
  }
}

function mismatch(type: avro.Type, value: unknown, subject: string, cause: unknown): SerdeError {
  const problems: string[] = [];
  type.isValid(value, {
    errorHook: (path, got, t) =>
      problems.length < 5 &&
      problems.push(`${path.join('.') || '(value)'}: expected ${describe(t)}, got ${show(got)}`),
  });
  const detail = problems.length ? problems.join('; ') : (cause as Error).message;
  return new SerdeError(
    'SCHEMA_MISMATCH',
    `value does not match the ${subject} schema: ${detail}; fix the producer or evolve the schema`,
    { subject, cause },
  );
}

function describe(t: avro.Type): string {
  return t.typeName === 'record' || t.typeName === 'enum' || t.typeName === 'fixed'
    ? `${t.typeName} ${t.name ?? ''}`.trim()
    : t.typeName;
}

function show(v: unknown): string {
  const s = v === undefined ? 'undefined' : JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 40 ? `${s.slice(0, 40)}…` : s;
}
