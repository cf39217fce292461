/**
 * A small client for a Confluent-compatible schema registry (Confluent's, or Apicurio's
 * `/apis/ccompat/v7`): register or look up a subject's schema, read a schema by id.
 * Registration goes through `@kafkajs/confluent-schema-registry` (which also sets the
 * subject's compatibility on first registration); reads by id and version lists use the
 * REST API directly because that library only hands back parsed types. Every failure is
 * a `SerdeError` whose message says what to do.
 */
import { COMPATIBILITY, SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import { SerdeError } from './errors.js';

/** A compatibility level a subject can be given (Confluent's names). */
export type Compatibility = keyof typeof COMPATIBILITY;

export interface RegistryClientOptions {
  /** Per-request timeout for direct REST reads, ms. Default 10 000. */
  timeoutMs?: number;
  /** Compatibility set on a subject's first registration. Default `BACKWARD`. */
  compatibility?: Compatibility;
}

/** One registered schema: its global id and its text (Avro JSON). */
export interface RegisteredSchema {
  id: number;
  schema: string;
}

const shared = new Map<string, RegistryClient>();

/**
 * Talks to one registry.
 *
 * @example
 *   const client = RegistryClient.shared('http://127.0.0.1:8081/apis/ccompat/v7');
 *   const id = await client.register('trades.raw-value', schemaJson);
 */
export class RegistryClient {
  private readonly lib: SchemaRegistry;
  private readonly timeoutMs: number;
  private readonly compatibility: Compatibility;

  /** @param url the registry's Confluent API base, e.g. `http://127.0.0.1:8081/apis/ccompat/v7` */
  constructor(
    readonly url: string,
    opts: RegistryClientOptions = {},
  ) {
    this.url = url.replace(/\/+$/, '');
    this.lib = new SchemaRegistry({ host: this.url, retry: { retries: 2 } });
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    this.compatibility = opts.compatibility ?? 'BACKWARD';
  }

  /** One client per URL per process, so serdes of one registry share its schema cache. */
  static shared(url: string): RegistryClient {
    const key = url.replace(/\/+$/, '');
    let client = shared.get(key);
    if (!client) shared.set(key, (client = new RegistryClient(key)));
    return client;
  }

  /** Registers `schema` (Avro JSON text) under `subject`; returns its id (existing id if already there). */
  async register(subject: string, schema: string): Promise<number> {
    for (let attempt = 1; ; attempt++) {
      try {
        const { id } = await this.lib.register(
          { type: SchemaType.AVRO, schema },
          { subject, compatibility: COMPATIBILITY[this.compatibility] },
        );
        return id;
      } catch (err) {
        // Two processes registering a new subject at once (an instance and the sink at
        // start-up): Apicurio creates the artifact for one and answers the other 409
        // "already exists", or the other reads the subject's compatibility before the
        // first has set it ("does not match the configuration"). Asked again a moment
        // later, the registry has both and returns the schema's id.
        const msg = String((err as Error)?.message ?? err);
        if (attempt < 5 && /already exists|does not match the configuration/i.test(msg)) {
          await new Promise((r) => setTimeout(r, 150 * attempt));
          continue;
        }
        throw this.classify(err, subject, 'register');
      }
    }
  }

  /** The id of `schema` as a version of `subject`, without registering it. */
  async lookup(subject: string, schema: string): Promise<number> {
    try {
      return await this.lib.getRegistryIdBySchema(subject, { type: SchemaType.AVRO, schema });
    } catch (err) {
      throw this.classify(err, subject, 'lookup');
    }
  }

  /** The newest version of `subject`. */
  async latest(subject: string): Promise<RegisteredSchema> {
    return this.get<RegisteredSchema>(`/subjects/${encodeURIComponent(subject)}/versions/latest`, {
      subject,
    });
  }

  /** Every version of `subject`, oldest first. */
  async versions(subject: string): Promise<RegisteredSchema[]> {
    const path = `/subjects/${encodeURIComponent(subject)}/versions`;
    const numbers = await this.get<number[]>(path, { subject });
    return Promise.all(numbers.map((v) => this.get<RegisteredSchema>(`${path}/${v}`, { subject })));
  }

  /** The schema text registered with global id `id`. */
  async schemaById(id: number): Promise<string> {
    const body = await this.get<{ schema: string }>(`/schemas/ids/${id}`, { schemaId: id });
    return body.schema;
  }

  private async get<T>(path: string, about: { subject?: string; schemaId?: number }): Promise<T> {
    let res: Response;
    try {
      res = await fetch(this.url + path, { signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (err) {
      throw this.unreachable(err);
    }
    if (res.ok) return (await res.json()) as T;
    const text = await res.text().catch(() => '');
    if (res.status === 404 && about.schemaId !== undefined)
      throw new SerdeError(
        'UNKNOWN_SCHEMA_ID',
        `schema id ${about.schemaId} is not in the registry at ${this.url}; the record was written against another registry (check MILLRACE_REGISTRY_URL) or the schema was deleted`,
        { schemaId: about.schemaId },
      );
    if (res.status === 404)
      throw new SerdeError(
        'SUBJECT_NOT_FOUND',
        `subject ${about.subject} does not exist in the registry at ${this.url}; register its schema first (start the producer, e.g. millrace ingest)`,
        { ...(about.subject ? { subject: about.subject } : {}) },
      );
    throw new SerdeError(
      'REGISTRY_ERROR',
      `the registry at ${this.url} answered ${res.status} to GET ${path}: ${text.slice(0, 300)}`,
      { retriable: res.status >= 500 },
    );
  }

  private classify(err: unknown, subject: string, action: string): SerdeError {
    const e = (err ?? {}) as { status?: number; message?: string; name?: string };
    const msg = String(e?.message ?? err);
    if (isNetworkFailure(msg)) return this.unreachable(err);
    if (e.status === 409 || /Compatib/i.test(e.name ?? '') || /compatib/i.test(msg))
      return new SerdeError(
        'SCHEMA_REJECTED',
        `the registry refused the schema for ${subject}: ${msg}; make the change ${this.compatibility.toLowerCase()} compatible (add fields with defaults, never change a field's type) or use a new subject`,
        { subject, cause: err },
      );
    if (e.status === 404)
      return new SerdeError(
        'SUBJECT_NOT_FOUND',
        `${action}: subject ${subject} has no such schema in the registry at ${this.url}; register it first, or check the topic name`,
        { subject, cause: err },
      );
    if (e.status === 422 || /ArgumentError|InvalidSchema/.test(err?.constructor?.name ?? ''))
      return new SerdeError(
        'INVALID_SCHEMA',
        `the schema for ${subject} is not a valid Avro schema: ${msg}`,
        { subject, cause: err },
      );
    return new SerdeError(
      'REGISTRY_ERROR',
      `${action} of ${subject} failed at ${this.url} (status ${e.status}): ${msg}`,
      { subject, cause: err, retriable: (e.status ?? 500) >= 500 },
    );
  }

  private unreachable(err: unknown): SerdeError {
    const cause = (err as { cause?: { code?: string } })?.cause?.code;
    return new SerdeError(
      'REGISTRY_UNREACHABLE',
      `schema registry ${this.url} is unreachable (${cause ?? (err as Error)?.message ?? String(err)}); start it (npm run infra:up) or point MILLRACE_REGISTRY_URL / --registry at it`,
      { retriable: true, cause: err },
    );
  }
}

function isNetworkFailure(msg: string): boolean {
  return /ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|ECONNRESET|EHOSTUNREACH|socket hang up|fetch failed|timed? ?out/i.test(
    msg,
  );
}
