/**
 * Parsed writer schemas by global schema id, shared by every serde of one registry
 * client. Reads are synchronous; a miss is filled by `load(id)`, which fetches each id at
 * most once at a time (concurrent callers share the request).
 */
import avro from 'avsc';
import type { RegistryClient } from './client.js';
import { SerdeError } from './errors.js';

const caches = new WeakMap<RegistryClient, SchemaCache>();

export class SchemaCache {
  private readonly types = new Map<number, avro.Type>();
  private readonly loading = new Map<number, Promise<avro.Type>>();

  private constructor(private readonly client: RegistryClient) {}

  /** The cache of `client` (one per client). */
  static of(client: RegistryClient): SchemaCache {
    let cache = caches.get(client);
    if (!cache) caches.set(client, (cache = new SchemaCache(client)));
    return cache;
  }

  get(id: number): avro.Type | undefined {
    return this.types.get(id);
  }

  /** Records `schema` (Avro JSON text) as the schema of `id`; returns its parsed type. */
  put(id: number, schema: string): avro.Type {
    const known = this.types.get(id);
    if (known) return known;
    const type = parseAvro(schema, `schema id ${id}`);
    this.types.set(id, type);
    return type;
  }

  /** The type of `id`, fetched from the registry when absent. */
  load(id: number): Promise<avro.Type> {
    const known = this.types.get(id);
    if (known) return Promise.resolve(known);
    let pending = this.loading.get(id);
    if (!pending) {
      pending = this.client
        .schemaById(id)
        .then((text) => this.put(id, text))
        .finally(() => this.loading.delete(id));
      this.loading.set(id, pending);
    }
    return pending;
  }
}

/** Parses Avro schema JSON (text or object) into a type; `INVALID_SCHEMA` when it is not one. */
export function parseAvro(schema: string | object, what: string): avro.Type {
  try {
    const json = typeof schema === 'string' ? (JSON.parse(schema) as avro.Schema) : schema;
    return avro.Type.forSchema(json as avro.Schema);
  } catch (err) {
    throw new SerdeError(
      'INVALID_SCHEMA',
      `${what} is not a valid Avro schema: ${(err as Error).message}`,
      { cause: err },
    );
  }
}
