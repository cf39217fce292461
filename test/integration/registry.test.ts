/**
 * The schema registry the global setup started (Apicurio, Confluent API at
 * /apis/ccompat/v7): schemas registered through @kafkajs/confluent-schema-registry,
 * records encoded and decoded through the registry with Confluent framing, an
 * incompatible change refused as the registry says, an older writer's records read with
 * the newer schema, an id first met after start fetched by `ensureSchema`, and bad
 * bytes rejected with a SerdeError saying why.
 */
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { describe, expect, inject, it } from 'vitest';
import {
  AvroRegistrySerde,
  loadSchema,
  RegistryClient,
  SerdeError,
} from '../../connectors/registry/index.js';
import { v1, v2 } from '../support/avro-evolution.js';

const schemas = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../schemas');
const run = randomUUID().slice(0, 8);

function serdeError(fn: () => unknown): SerdeError {
  try {
    fn();
  } catch (err) {
    if (err instanceof SerdeError) return err;
    throw err;
  }
  throw new Error('expected a SerdeError');
}

describe('schema registry (real Apicurio, Confluent API)', () => {
  it('registers all three schemas; a trade message round-trips through the registry', async () => {
    for (const file of ['trade.avsc', 'vwap.avsc'])
      await AvroRegistrySerde.create(
        inject('registryUrl'),
        `it-${run}-${file}-value`,
        loadSchema(path.join(schemas, file)),
      );
    const subject = `it-${run}-trades.raw-value`;
    const serde = await AvroRegistrySerde.create(
      inject('registryUrl'),
      subject,
      loadSchema(path.join(schemas, 'trades-raw.avsc')),
    );
    const msg = {
      type: 'trade',
      data: [
        { s: 'BINANCE:BTCUSDT', p: 7296.89, t: 1575526691134, v: 0.011467, c: ['1', '12'] },
        { s: 'BINANCE:BTCUSDT', p: 7296.9, t: 1575526691135, v: 0.5, c: null },
      ],
      ingest_timestamp: 1575526691200,
    };
    const bytes = serde.serialize(msg);
    expect(bytes[0]).toBe(0);
    expect(bytes.readInt32BE(1)).toBe(serde.id);
    expect(serde.deserialize(bytes)).toEqual(msg);
    // The registry's own client decodes the same bytes, and agrees on the subject's id.
    const registry = new SchemaRegistry({ host: inject('registryUrl') });
    expect(await registry.decode(bytes)).toEqual(msg);
    expect(await registry.getLatestSchemaId(subject)).toBe(serde.id);
    // A reader with its own client (another process, in effect) fetches the id on first sight.
    const reader = new AvroRegistrySerde({
      registry: new RegistryClient(inject('registryUrl')),
      subject,
      autoRegister: false,
      schema: loadSchema(path.join(schemas, 'trades-raw.avsc')),
      preloadVersions: false,
    });
    await reader.prepare();
    expect(reader.missingSchemaId(bytes)).toBeUndefined();
    expect(reader.deserialize(bytes)).toEqual(msg);
  });

  it('refuses a compatibility-breaking change and reads the older version with the newer schema', async () => {
    const subject = `it-${run}-evolve-value`;
    const url = inject('registryUrl');
    const old = await AvroRegistrySerde.create<{ a: string }>(url, subject, v1);
    const oldBytes = old.serialize({ a: 'x' });
    const incompatible = { type: 'record', name: 'E', fields: [{ name: 'a', type: 'int' }] };
    const refused = await AvroRegistrySerde.create(url, subject, incompatible).catch((e) => e);
    expect(refused).toBeInstanceOf(SerdeError);
    expect(refused).toMatchObject({ code: 'SCHEMA_REJECTED', domain: 'user', retriable: false });
    expect(refused.message).toMatch(/compatib/i);
    const current = await AvroRegistrySerde.create<{ a: string; b: number }>(url, subject, v2);
    expect(current.id).not.toBe(old.id);
    expect(current.deserialize(oldBytes)).toEqual({ a: 'x', b: 7 });
  });

  it('a reader meeting an id written after it started fetches it once, then decodes synchronously', async () => {
    const subject = `it-${run}-late-value`;
    const url = inject('registryUrl');
    const reader = await new AvroRegistrySerde<{ a: string }>({
      registry: new RegistryClient(url),
      subject,
      schema: v1,
    }).prepare();
    const writer = await new AvroRegistrySerde({
      registry: new RegistryClient(url),
      subject,
      schema: v2,
    }).prepare();
    const bytes = writer.serialize({ a: 'y', b: 1 });
    expect(serdeError(() => reader.deserialize(bytes))).toMatchObject({
      code: 'UNKNOWN_SCHEMA_ID',
      retriable: true,
      schemaId: writer.id,
    });
    expect(reader.missingSchemaId(bytes)).toBe(writer.id);
    await reader.ensureSchema(writer.id);
    expect(reader.missingSchemaId(bytes)).toBeUndefined();
    expect(reader.deserialize(bytes)).toEqual({ a: 'y' });
  });

  it('rejects garbage with a SerdeError saying why', async () => {
    const serde = await AvroRegistrySerde.create(
      inject('registryUrl'),
      `it-${run}-bad-value`,
      loadSchema(path.join(schemas, 'trade.avsc')),
    );
    expect(serdeError(() => serde.deserialize(Buffer.from('{"json":true}')))).toMatchObject({
      code: 'BAD_MAGIC',
      message: expect.stringMatching(/magic byte 123 is not 0/),
    });
    expect(serdeError(() => serde.deserialize(Buffer.from([0, 0]))).code).toBe('TRUNCATED');
    const unknownId = 0x7f000001;
    await expect(serde.ensureSchema(unknownId)).rejects.toMatchObject({
      code: 'UNKNOWN_SCHEMA_ID',
    });
    expect(serdeError(() => serde.deserialize(Buffer.from([0, 0x7f, 0, 0, 1, 2]))).code).toBe(
      'UNKNOWN_SCHEMA_ID',
    );
    const good = serde.serialize({
      uuid: 'u',
      trade_conditions: null,
      price: 1,
      symbol: 'AAPL',
      trade_timestamp: 1,
      ingest_timestamp: 2,
      volume: 3,
      type: 'trade',
    });
    expect(serdeError(() => serde.deserialize(good.subarray(0, 9))).code).toBe('TRUNCATED');
    expect(serdeError(() => serde.serialize({ nope: 1 })).code).toBe('SCHEMA_MISMATCH');
  });

  it('an unreachable registry is a retriable external error naming the fix', async () => {
    const err = await AvroRegistrySerde.create('http://127.0.0.1:1/apis/ccompat/v7', 'x-value', v1)
      .then(() => undefined)
      .catch((e) => e);
    expect(err).toMatchObject({
      code: 'REGISTRY_UNREACHABLE',
      domain: 'external',
      retriable: true,
    });
    expect(err.message).toMatch(/infra:up|MILLRACE_REGISTRY_URL/);
  });
});
