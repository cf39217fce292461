/**
 * Avro with Confluent framing (magic byte 0, 4-byte big-endian schema id, Avro body)
 * through a Confluent-compatible schema registry. The stream engine's serdes are
 * synchronous, so every schema a serde may meet is fetched up front (`create()` registers
 * the writer schema and loads every registered version of the subject); a record whose
 * schema id is still unknown fails with a `SerdeError` and goes to the dead-letter topic.
 */
import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import avro from 'avsc';
import fs from 'node:fs';
import type { Serde } from '../../state/api.js';

type Resolver = ReturnType<avro.Type['createResolver']>;

export class SerdeError extends Error {
  readonly domain = 'user' as const;
  constructor(
    readonly code: string,
    message: string,
    readonly retriable = false,
  ) {
    super(message);
    this.name = 'SerdeError';
  }
}

export function loadSchema(file: string): object {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as object;
}

export class AvroRegistrySerde<T = unknown> implements Serde<T> {
  private readonly writerType: avro.Type;
  private readonly types = new Map<number, avro.Type>();
  private readonly resolvers = new Map<number, Resolver | undefined>();

  private constructor(
    readonly subject: string,
    readonly id: number,
    schema: object,
  ) {
    this.writerType = avro.Type.forSchema(schema as avro.Schema);
    this.types.set(id, this.writerType);
  }

  /** Registers `schema` under `subject` (the registry checks compatibility) and loads known versions. */
  static async create<T>(
    registryUrl: string,
    subject: string,
    schema: object,
  ): Promise<AvroRegistrySerde<T>> {
    const registry = new SchemaRegistry({ host: registryUrl });
    let id: number;
    try {
      ({ id } = await registry.register(
        { type: SchemaType.AVRO, schema: JSON.stringify(schema) },
        { subject },
      ));
    } catch (err) {
      const msg = (err as Error).message;
      if (/ECONNREFUSED|fetch failed|ENOTFOUND/.test(msg))
        throw new SerdeError(
          'REGISTRY_UNREACHABLE',
          `schema registry ${registryUrl} is unreachable (${msg}); start it (npm run infra:up) or set MILLRACE_REGISTRY_URL`,
          true,
        );
      throw new SerdeError(
        'SCHEMA_REJECTED',
        `the registry refused the schema for ${subject}: ${msg}; make the change backward compatible (add fields with defaults) or register it under a new subject`,
      );
    }
    const serde = new AvroRegistrySerde<T>(subject, id, schema);
    await serde.loadVersions(registryUrl);
    return serde;
  }

  private async loadVersions(registryUrl: string): Promise<void> {
    const res = await fetch(`${registryUrl}/subjects/${encodeURIComponent(this.subject)}/versions`);
    if (!res.ok) return;
    for (const v of (await res.json()) as number[]) {
      const r = await fetch(
        `${registryUrl}/subjects/${encodeURIComponent(this.subject)}/versions/${v}`,
      );
      if (!r.ok) continue;
      const body = (await r.json()) as { id: number; schema: string };
      if (!this.types.has(body.id))
        this.types.set(body.id, avro.Type.forSchema(JSON.parse(body.schema) as avro.Schema));
    }
  }

  serialize(value: T): Buffer {
    let body: Buffer;
    try {
      body = this.writerType.toBuffer(value);
    } catch (err) {
      throw new SerdeError(
        'ENCODE_FAILED',
        `value does not match the ${this.subject} schema: ${(err as Error).message}`,
      );
    }
    const out = Buffer.allocUnsafe(5 + body.length);
    out[0] = 0;
    out.writeInt32BE(this.id, 1);
    body.copy(out, 5);
    return out;
  }

  deserialize(bytes: Buffer): T {
    if (bytes.length < 5)
      throw new SerdeError(
        'TRUNCATED',
        `${bytes.length} bytes is too short for a Confluent-framed Avro record (5-byte header)`,
      );
    if (bytes[0] !== 0)
      throw new SerdeError(
        'BAD_MAGIC',
        `magic byte ${bytes[0]} is not 0: not a Confluent-framed Avro record`,
      );
    const id = bytes.readInt32BE(1);
    const resolver = this.resolver(id);
    try {
      return this.writerType.fromBuffer(bytes.subarray(5), resolver) as T;
    } catch (err) {
      throw new SerdeError(
        'DECODE_FAILED',
        `cannot decode an Avro body with schema id ${id} (${this.subject}): ${(err as Error).message}`,
      );
    }
  }

  /** How to read data written with schema `id` into the current schema (undefined: same schema). */
  private resolver(id: number): Resolver | undefined {
    if (id === this.id) return undefined;
    if (this.resolvers.has(id)) return this.resolvers.get(id);
    const writer = this.types.get(id);
    if (!writer)
      throw new SerdeError(
        'UNKNOWN_SCHEMA_ID',
        `schema id ${id} is not a version of ${this.subject} known to this instance; restart to reload the subject's versions`,
        true,
      );
    const resolver = this.writerType.createResolver(writer);
    this.resolvers.set(id, resolver);
    return resolver;
  }
}
