/**
 * `SerdeError`: bytes that cannot become a value, or a value that cannot become bytes.
 * Like every millrace error it carries a `code`, a `domain` (whose fault: `user` data or
 * config, an `external` server, or `internal`), and whether retrying can help; its message
 * says what to do. The stream engine's deserialization handler sends records that fail
 * with a non-retriable `SerdeError` to the dead-letter topic.
 *
 * @example
 *   try { serde.deserialize(bytes) } catch (e) {
 *     if (e instanceof SerdeError && e.code === 'UNKNOWN_SCHEMA_ID') await serde.ensureSchema(e.schemaId!)
 *   }
 */

export type SerdeErrorCode =
  /** The payload's schema id is not in this process's cache (sync path) or not in the registry. */
  | 'UNKNOWN_SCHEMA_ID'
  /** The first byte is not 0: not a Confluent-framed record (JSON, plain Avro, another format). */
  | 'BAD_MAGIC'
  /** Fewer bytes than the 5-byte header, or an Avro body cut short. */
  | 'TRUNCATED'
  /** A value that does not fit the schema, or a writer schema the reader schema cannot read. */
  | 'SCHEMA_MISMATCH'
  /** An Avro body that is not valid for its writer schema (corrupt bytes, trailing data). */
  | 'DECODE_FAILED'
  /** The registry refused to register a schema (a compatibility rule was broken). */
  | 'SCHEMA_REJECTED'
  /** A schema the Avro library cannot parse. */
  | 'INVALID_SCHEMA'
  /** The subject does not exist, or the schema is not one of its versions. */
  | 'SUBJECT_NOT_FOUND'
  /** The registry cannot be reached (connection refused, DNS, timeout). */
  | 'REGISTRY_UNREACHABLE'
  /** The registry answered with an error this client does not classify. */
  | 'REGISTRY_ERROR'
  /** `serialize`/`deserialize` was called before `prepare()` finished. */
  | 'NOT_PREPARED';

export type SerdeErrorDomain = 'user' | 'external' | 'internal';

const DOMAIN: Record<SerdeErrorCode, SerdeErrorDomain> = {
  UNKNOWN_SCHEMA_ID: 'user',
  BAD_MAGIC: 'user',
  TRUNCATED: 'user',
  SCHEMA_MISMATCH: 'user',
  DECODE_FAILED: 'user',
  SCHEMA_REJECTED: 'user',
  INVALID_SCHEMA: 'user',
  SUBJECT_NOT_FOUND: 'user',
  REGISTRY_UNREACHABLE: 'external',
  REGISTRY_ERROR: 'external',
  NOT_PREPARED: 'internal',
};

/** A failure to encode or decode a record, or to reach/convince the schema registry. */
export class SerdeError extends Error {
  readonly code: SerdeErrorCode;
  readonly domain: SerdeErrorDomain;
  /** True when the same call may succeed later (registry back, schema id fetched). */
  readonly retriable: boolean;
  /** The schema id in the payload, when the failure concerns one. */
  readonly schemaId?: number;
  /** The registry subject concerned, when there is one (`<topic>-value`). */
  readonly subject?: string;

  constructor(
    code: SerdeErrorCode,
    message: string,
    opts: { retriable?: boolean; cause?: unknown; schemaId?: number; subject?: string } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'SerdeError';
    this.code = code;
    this.domain = DOMAIN[code];
    this.retriable = opts.retriable ?? false;
    if (opts.schemaId !== undefined) this.schemaId = opts.schemaId;
    if (opts.subject !== undefined) this.subject = opts.subject;
  }
}
