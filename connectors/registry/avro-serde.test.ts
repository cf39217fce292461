import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { AvroRegistrySerde, loadSchema } from './avro-serde.js';
import type { RegistryClient } from './client.js';
import { SerdeError } from './errors.js';
import { schemaIdOf } from './framing.js';
import { v1, v2 } from '../../test/support/avro-evolution.js';

const schemas = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../schemas');

/** An in-memory registry with the client's surface: ids are global, versions per subject. */
function fakeRegistry() {
  const byId = new Map<number, string>();
  const subjects = new Map<string, number[]>();
  let fetches = 0;
  const idOf = (schema: string) => [...byId].find(([, s]) => s === schema)?.[0];
  const client = {
    url: 'memory://',
    async register(subject: string, schema: string) {
      const id = idOf(schema) ?? byId.size + 1;
      byId.set(id, schema);
      const v = subjects.get(subject) ?? [];
      if (!v.includes(id)) v.push(id);
      subjects.set(subject, v);
      return id;
    },
    async lookup(subject: string, schema: string) {
      const id = idOf(schema);
      if (id === undefined || !subjects.get(subject)?.includes(id))
        throw new SerdeError('SUBJECT_NOT_FOUND', `no ${subject}`);
      return id;
    },
    async latest(subject: string) {
      const id = subjects.get(subject)!.at(-1)!;
      return { id, schema: byId.get(id)! };
    },
    async versions(subject: string) {
      return (subjects.get(subject) ?? []).map((id) => ({ id, schema: byId.get(id)! }));
    },
    async schemaById(id: number) {
      fetches++;
      const s = byId.get(id);
      if (!s) throw new SerdeError('UNKNOWN_SCHEMA_ID', `no id ${id}`, { schemaId: id });
      return s;
    },
  };
  return { client: client as unknown as RegistryClient, fetches: () => fetches };
}

describe('AvroRegistrySerde', () => {
  it('round-trips a trade message with Confluent framing', async () => {
    const { client } = fakeRegistry();
    const serde = await new AvroRegistrySerde({
      registry: client,
      subject: 'trades.raw-value',
      schema: loadSchema(path.join(schemas, 'trades-raw.avsc')),
    }).prepare();
    const msg = {
      type: 'trade',
      data: [{ s: 'AAPL', p: 189.5, t: 1_700_000_000_123, v: 100, c: ['1', '12'] }],
      ingest_timestamp: 1_700_000_000_200,
    };
    const bytes = serde.serialize(msg);
    expect(bytes[0]).toBe(0);
    expect(schemaIdOf(bytes)).toBe(serde.id);
    expect(serde.deserialize(bytes)).toEqual(msg);
  });

  it('decodes a record of an id first seen after start once ensureSchema ran, synchronously after', async () => {
    const reg = fakeRegistry();
    const reader = await new AvroRegistrySerde<{ a: string }>({
      registry: reg.client,
      subject: 's-value',
      schema: v1,
    }).prepare();
    const writer = await new AvroRegistrySerde({
      registry: reg.client,
      subject: 's-value',
      schema: v2,
    }).prepare();
    const bytes = writer.serialize({ a: 'x', b: 9 });
    // Same process, same client: the writer's id is already in the shared cache.
    expect(reader.missingSchemaId(bytes)).toBeUndefined();
    expect(reader.deserialize(bytes)).toEqual({ a: 'x' });

    const other = fakeRegistry();
    await other.client.register('s-value', JSON.stringify(v1));
    const fresh = await new AvroRegistrySerde({
      registry: other.client,
      subject: 's-value',
      schema: v1,
      preloadVersions: false,
    }).prepare();
    const newId = await other.client.register('s-value', JSON.stringify(v2));
    const later = Buffer.concat([Buffer.from([0, 0, 0, 0, newId]), bytes.subarray(5)]);
    expect(fresh.missingSchemaId(later)).toBe(newId);
    const err = catchErr(() => fresh.deserialize(later));
    expect(err.code).toBe('UNKNOWN_SCHEMA_ID');
    expect(err.retriable).toBe(true);
    expect(err.message).toMatch(/ensureSchema\(\d+\)/);
    await fresh.ensureSchema(newId);
    const fetched = other.fetches();
    expect(fresh.deserialize(later)).toEqual({ a: 'x' });
    expect(fresh.deserialize(later)).toEqual({ a: 'x' });
    expect(other.fetches()).toBe(fetched);
  });

  it('gives typed SerdeErrors for bad magic, truncation, unknown ids, mismatches', async () => {
    const { client } = fakeRegistry();
    const serde = await new AvroRegistrySerde({
      registry: client,
      subject: 'e-value',
      schema: v2,
    }).prepare();
    expect(catchErr(() => serde.deserialize(Buffer.from('{"a":1}'))).code).toBe('BAD_MAGIC');
    expect(catchErr(() => serde.deserialize(Buffer.from('{"a":1}'))).message).toMatch(/like JSON/);
    expect(catchErr(() => serde.deserialize(Buffer.from([0, 0]))).code).toBe('TRUNCATED');
    const good = serde.serialize({ a: 'hello', b: 1 });
    expect(catchErr(() => serde.deserialize(good.subarray(0, good.length - 3))).code).toBe(
      'TRUNCATED',
    );
    expect(catchErr(() => serde.deserialize(Buffer.concat([good, Buffer.from([1])]))).code).toBe(
      'DECODE_FAILED',
    );
    await expect(serde.ensureSchema(999)).rejects.toMatchObject({ code: 'UNKNOWN_SCHEMA_ID' });
    const unknown = catchErr(() => serde.deserialize(Buffer.from([0, 0, 0, 3, 231, 2, 65])));
    expect(unknown).toMatchObject({ code: 'UNKNOWN_SCHEMA_ID', retriable: false, domain: 'user' });
    const bad = catchErr(() => serde.serialize({ a: 'x', b: 'not a long' } as never));
    expect(bad.code).toBe('SCHEMA_MISMATCH');
    expect(bad.message).toMatch(/b: expected long, got "not a long"/);
    const intE = { type: 'record', name: 'E', fields: [{ name: 'a', type: 'int' }] };
    const other = await new AvroRegistrySerde({
      registry: client,
      subject: 'x-value',
      schema: intE,
    }).prepare();
    const mismatch = catchErr(() => serde.deserialize(other.serialize({ a: 1 })));
    expect(mismatch.code).toBe('SCHEMA_MISMATCH');
  });

  it('refuses the sync path before prepare()', () => {
    const { client } = fakeRegistry();
    const serde = new AvroRegistrySerde({ registry: client, subject: 'n-value', schema: v1 });
    expect(catchErr(() => serde.serialize({ a: 'x' })).code).toBe('NOT_PREPARED');
  });

  it('large values grow the encoding buffer', async () => {
    const { client } = fakeRegistry();
    const serde = await new AvroRegistrySerde({
      registry: client,
      subject: 'l-value',
      schema: v1,
    }).prepare();
    const a = 'x'.repeat(300_000);
    expect(serde.deserialize(serde.serialize({ a }))).toEqual({ a });
  });
});

function catchErr(fn: () => unknown): SerdeError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(SerdeError);
    return err as SerdeError;
  }
  throw new Error('expected a SerdeError');
}
