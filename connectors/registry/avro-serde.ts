/**
 * An Avro serde over a Confluent-compatible schema registry, with Confluent framing
 * (magic byte 0 + 4-byte schema id + Avro body).
 *
 * The stream engine's serdes are synchronous, so the registry is only talked to in two
 * async warm-up calls: `prepare()` (register or look up this serde's schema under its
 * subject and load every version of the subject) and `ensureSchema(id)` (fetch a writer
 * schema met in a record). After that, `serialize` and `deserialize` are plain function
 * calls. A runtime that may meet ids written after it started asks
 * `missingSchemaId(bytes)` and awaits `ensureSchema(id)` before the sync call.
 *
 * @example
 *   const serde = await AvroRegistrySerde.create(
 *     'http://127.0.0.1:8081/apis/ccompat/v7', 'trades.raw-value', loadSchema('schemas/trades-raw.avsc'));
 *   const bytes = serde.serialize(message);          // 0, id (4 bytes), Avro body
 *   const id = serde.missingSchemaId(input);         // an id not seen yet, or undefined
 *   if (id !== undefined) await serde.ensureSchema(id);
 *   const value = serde.deserialize(input);
 */
import type avro from 'avsc';
import fs from 'node:fs';
import type { Serde } from '../../state/api.js';
import { RegistryClient } from './client.js';
import { encodeValue, decodeBody } from './codec.js';
import { SerdeError } from './errors.js';
import { schemaIdOf } from './framing.js';
import { parseAvro, SchemaCache } from './schema-cache.js';

export { SerdeError } from './errors.js';

type Resolver = ReturnType<avro.Type['createResolver']>;

export interface AvroSerdeOptions {
  /** The registry's Confluent API base URL (e.g. `http://127.0.0.1:8081/apis/ccompat/v7`) or a client. */
  registry: string | RegistryClient;
  /** The subject, by convention `<topic>-value` (e.g. `trades.raw-value`). */
  subject: string;
  /**
   * The Avro schema (parsed JSON) this serde writes and reads into. Absent: the subject's
   * latest version at `prepare()` time.
   */
  schema?: object;
  /** Register `schema` under the subject in `prepare()`. Default true; false: it must already be a version. */
  autoRegister?: boolean;
  /** Load every version of the subject in `prepare()`, so older records decode synchronously. Default true. */
  preloadVersions?: boolean;
}

/** Avro with Confluent framing through a schema registry; see the module comment. */
export class AvroRegistrySerde<T = unknown> implements Serde<T> {
  readonly subject: string;
  private readonly client: RegistryClient;
  private readonly cache: SchemaCache;
  private readonly opts: AvroSerdeOptions;
  private type?: avro.Type;
  private writerId = -1;
  private preparing?: Promise<this>;
  private readonly resolvers = new Map<number, Resolver | null>();
  private readonly unreadable = new Map<number, SerdeError>();

  constructor(opts: AvroSerdeOptions) {
    this.opts = opts;
    this.subject = opts.subject;
    this.client =
      typeof opts.registry === 'string' ? RegistryClient.shared(opts.registry) : opts.registry;
    this.cache = SchemaCache.of(this.client);
  }

  /**
   * A prepared serde: registers `schema` under `subject` (the registry checks
   * compatibility; `SCHEMA_REJECTED` when it refuses) and loads the subject's versions.
   */
  static async create<T = unknown>(
    registryUrl: string,
    subject: string,
    schema: object,
    opts: Partial<Omit<AvroSerdeOptions, 'registry' | 'subject' | 'schema'>> = {},
  ): Promise<AvroRegistrySerde<T>> {
    return new AvroRegistrySerde<T>({ ...opts, registry: registryUrl, subject, schema }).prepare();
  }

  /** The registry id of the schema this serde writes. Throws `NOT_PREPARED` before `prepare()`. */
  get id(): number {
    this.ready();
    return this.writerId;
  }

  /** True once `prepare()` has finished. */
  get prepared(): boolean {
    return this.type !== undefined;
  }

  /** Registers or looks up the schema and loads the subject's versions. Safe to call again. */
  prepare(): Promise<this> {
    this.preparing ??= this.load().catch((err: unknown) => {
      this.preparing = undefined;
      throw err;
    });
    return this.preparing;
  }

  /**
   * Makes schema `id` readable synchronously: fetches it from the registry unless cached.
   * Rejects with `UNKNOWN_SCHEMA_ID` when the registry has no such id (later `deserialize`
   * calls then fail fast, non-retriable) or `REGISTRY_UNREACHABLE`.
   */
  async ensureSchema(id: number): Promise<void> {
    await this.prepare();
    if (this.cache.get(id) || this.unreadable.has(id)) return;
    try {
      await this.cache.load(id);
    } catch (err) {
      if (err instanceof SerdeError && err.code === 'UNKNOWN_SCHEMA_ID')
        this.unreadable.set(id, err);
      throw err;
    }
  }

  /**
   * The schema id of `bytes` when `ensureSchema` must run before `deserialize` can;
   * `undefined` when the payload is ready to decode (or so malformed that `deserialize`
   * will say why).
   */
  missingSchemaId(bytes: Buffer): number | undefined {
    if (bytes.length < 5 || bytes[0] !== 0) return undefined;
    const id = bytes.readInt32BE(1);
    if (id === this.writerId || this.cache.get(id) || this.unreadable.has(id)) return undefined;
    return id;
  }

  /**
   * For runtimes (`Serde.prepareFor`): a promise when the writer schema of `bytes` must be
   * fetched before `deserialize` can decode them, `undefined` when it can now. While the
   * registry is unreachable it asks again (0.5 s doubling to 5 s) for up to
   * `unreachableTimeoutMs` (default 60 s), then rejects with `REGISTRY_UNREACHABLE`; an id
   * the registry does not know resolves, and `deserialize` then says `UNKNOWN_SCHEMA_ID`.
   */
  prepareFor(bytes: Buffer, unreachableTimeoutMs = 60_000): Promise<void> | undefined {
    const id = this.missingSchemaId(bytes);
    if (id === undefined) return undefined;
    return this.ensureSchemaPatiently(id, unreachableTimeoutMs);
  }

  private async ensureSchemaPatiently(id: number, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (let wait = 500; ; wait = Math.min(5000, wait * 2)) {
      try {
        return await this.ensureSchema(id);
      } catch (err) {
        if (err instanceof SerdeError && err.code === 'UNKNOWN_SCHEMA_ID') return;
        if (!(err instanceof SerdeError && err.retriable) || Date.now() + wait > deadline)
          throw err;
        await new Promise((r) => setTimeout(r, wait));
      }
    }
  }

  /** Avro-encodes `value` with this serde's schema and frames it. `SCHEMA_MISMATCH` when it does not fit. */
  serialize(value: T): Buffer {
    return encodeValue(this.ready(), this.writerId, value, this.subject);
  }

  /**
   * Decodes a Confluent-framed record into this serde's schema (resolving from the
   * writer's schema when it is an older or newer version). Throws `SerdeError`:
   * `TRUNCATED`, `BAD_MAGIC`, `UNKNOWN_SCHEMA_ID` (retriable: call `ensureSchema`),
   * `SCHEMA_MISMATCH` (writer not readable as this schema), `DECODE_FAILED`.
   */
  deserialize(bytes: Buffer): T {
    const type = this.ready();
    const id = schemaIdOf(bytes, this.subject);
    const resolver = id === this.writerId ? undefined : this.resolverFor(id, type);
    return decodeBody(type, bytes, resolver, id, this.subject) as T;
  }

  private ready(): avro.Type {
    if (this.type) return this.type;
    throw new SerdeError(
      'NOT_PREPARED',
      `the Avro serde for ${this.subject} is used before prepare() finished; await serde.prepare() (AvroRegistrySerde.create does) first`,
      { subject: this.subject },
    );
  }

  private async load(): Promise<this> {
    const { schema, autoRegister = true, preloadVersions = true } = this.opts;
    let text: string;
    if (schema) {
      text = JSON.stringify(schema);
      parseAvro(schema, `the schema for ${this.subject}`);
      this.writerId = autoRegister
        ? await this.client.register(this.subject, text)
        : await this.client.lookup(this.subject, text);
    } else {
      const latest = await this.client.latest(this.subject);
      ({ id: this.writerId, schema: text } = latest);
    }
    const type = parseAvro(text, `the schema for ${this.subject}`);
    this.cache.put(this.writerId, text);
    if (preloadVersions)
      for (const v of await this.client.versions(this.subject)) this.cache.put(v.id, v.schema);
    this.type = type;
    return this;
  }

  private resolverFor(id: number, reader: avro.Type): Resolver | undefined {
    const known = this.resolvers.get(id);
    if (known !== undefined) return known ?? undefined;
    const failed = this.unreadable.get(id);
    if (failed) throw failed;
    const writer = this.cache.get(id);
    if (!writer)
      throw new SerdeError(
        'UNKNOWN_SCHEMA_ID',
        `schema id ${id} is not cached for ${this.subject} yet: await serde.ensureSchema(${id}) before deserialize (runtimes: check serde.missingSchemaId(bytes) first)`,
        { retriable: true, schemaId: id, subject: this.subject },
      );
    return this.resolve(id, writer, reader);
  }

  private resolve(id: number, writer: avro.Type, reader: avro.Type): Resolver | undefined {
    if (writer.equals(reader)) {
      this.resolvers.set(id, null);
      return undefined;
    }
    try {
      const resolver = reader.createResolver(writer);
      this.resolvers.set(id, resolver);
      return resolver;
    } catch (err) {
      const e = new SerdeError(
        'SCHEMA_MISMATCH',
        `records written with schema id ${id} cannot be read with ${this.subject}'s schema (id ${this.writerId}): ${(err as Error).message}; read them with a compatible schema or fix the producer`,
        { schemaId: id, subject: this.subject, cause: err },
      );
      this.unreadable.set(id, e);
      throw e;
    }
  }
}

/**
 * Reads an `.avsc` file as parsed JSON.
 *
 * @example loadSchema('schemas/trades-raw.avsc')
 */
export function loadSchema(file: string): object {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as object;
  } catch (err) {
    throw new SerdeError(
      'INVALID_SCHEMA',
      `cannot read the Avro schema file ${file}: ${(err as Error).message}`,
      { cause: err },
    );
  }
}
