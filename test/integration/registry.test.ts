/**
 * The schema registry the global setup started (Apicurio, Confluent API at
 * /apis/ccompat/v7): Avro schemas registered through @kafkajs/confluent-schema-registry,
 * records encoded and decoded with Confluent framing, an incompatible change refused, an
 * older writer's records read with the newer schema, and bad bytes rejected clearly.
 */
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import { describe, expect, inject, it } from 'vitest';
import { AvroRegistrySerde, loadSchema, SerdeError } from '../../connectors/registry/avro-serde.js';

const schemas = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../schemas');
const run = randomUUID().slice(0, 8);

describe('schema registry (real Apicurio, Confluent API)', () => {
  it('registers the trade schema, encodes and decodes a record through the registry', async () => {
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
    // The registry's own client (a second, independent reader) decodes the same bytes.
    const registry = new SchemaRegistry({ host: inject('registryUrl') });
    expect(await registry.decode(bytes)).toEqual(msg);
    expect(await registry.getLatestSchemaId(subject)).toBe(serde.id);
  });

  it('refuses an incompatible change and reads an older version with the newer schema', async () => {
    const subject = `it-${run}-evolve-value`;
    const v1 = { type: 'record', name: 'E', fields: [{ name: 'a', type: 'string' }] };
    const old = await AvroRegistrySerde.create<{ a: string }>(inject('registryUrl'), subject, v1);
    const oldBytes = old.serialize({ a: 'x' });
    const registry = new SchemaRegistry({ host: inject('registryUrl') });
    const incompatible = { type: 'record', name: 'E', fields: [{ name: 'a', type: 'int' }] };
    await expect(
      registry.register(
        { type: SchemaType.AVRO, schema: JSON.stringify(incompatible) },
        { subject },
      ),
    ).rejects.toThrow();
    const v2 = {
      type: 'record',
      name: 'E',
      fields: [
        { name: 'a', type: 'string' },
        { name: 'b', type: 'long', default: 7 },
      ],
    };
    const current = await AvroRegistrySerde.create<{ a: string; b: number }>(
      inject('registryUrl'),
      subject,
      v2,
    );
    expect(current.id).not.toBe(old.id);
    expect(current.deserialize(oldBytes)).toEqual({ a: 'x', b: 7 });
  });

  it('rejects bytes that are not Confluent-framed Avro with a SerdeError saying why', async () => {
    const serde = await AvroRegistrySerde.create(
      inject('registryUrl'),
      `it-${run}-bad-value`,
      loadSchema(path.join(schemas, 'trade.avsc')),
    );
    expect(() => serde.deserialize(Buffer.from('{"json":true}'))).toThrow(
      /magic byte 123 is not 0/,
    );
    expect(() => serde.deserialize(Buffer.from([0, 0]))).toThrow(/too short/);
    const unknown = Buffer.from([0, 0x7f, 0, 0, 1, 2]);
    expect(() => serde.deserialize(unknown)).toThrow(SerdeError);
    expect(() => serde.deserialize(unknown)).toThrow(/schema id 2130706433 is not a version/);
    expect(() => serde.serialize({ nope: 1 })).toThrow(/does not match the .* schema/);
  });
});
