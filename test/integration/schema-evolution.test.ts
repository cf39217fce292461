/**
 * A source record written with a newer version of its subject's schema, registered after
 * the app started (so its serde has not seen the id): the runtime has the serde fetch the
 * writer schema before it decodes the record, and the record comes out — it is not sent
 * to the dead-letter topic as an unknown schema id. Real broker and real registry.
 */
import { describe, expect, inject, it } from 'vitest';
import '../../processors/index.js';
import { AvroRegistrySerde, RegistryClient } from '../../connectors/registry/index.js';
import { StreamsApp } from '../../runtime/app.js';
import { TopologyBuilder } from '../../topology/index.js';
import { createTopics, produce, readUntil } from '../support/kafka-helpers.js';
import { useKafkaRun } from '../support/kafka-run.js';
import { v1, v2 } from '../support/avro-evolution.js';

const { run, kafka, dir: stateDir } = useKafkaRun('it-evolve', 'millrace-evolve-');

interface Event {
  a: string;
  b?: number;
}

describe('schema evolution at a source', () => {
  it('decodes a record of a schema version registered after the app started', async () => {
    const [input, out] = [`${run}-in`, `${run}-out`];
    await createTopics(kafka, [
      { topic: input, partitions: 1 },
      { topic: out, partitions: 1 },
    ]);
    const subject = `${input}-value`;
    const appSerde = await AvroRegistrySerde.create<Event>(inject('registryUrl'), subject, v1);
    const b = new TopologyBuilder();
    b.stream<string, Event>(input, { key: 'string', value: 'avro:e' })
      .mapValues((e) => `${e.a}`)
      .to(out, { key: 'string', value: 'string' });
    const app = new StreamsApp(
      b.build(),
      { applicationId: run, bootstrapServers: inject('kafkaBrokers'), stateDir },
      {},
      { serdes: { 'avro:e': appSerde } },
    );
    await app.start();
    try {
      await produce(kafka, input, [{ key: 'k', value: appSerde.serialize({ a: 'old' }) }]);
      // A producer with the newer schema registers it now, and writes with its id.
      // (Its own registry client: nothing it caches is shared with the app's serde.)
      const writer = await new AvroRegistrySerde<Event>({
        registry: new RegistryClient(inject('registryUrl')),
        subject,
        schema: v2,
      }).prepare();
      expect(writer.id).not.toBe(appSerde.id);
      expect(appSerde.missingSchemaId(writer.serialize({ a: 'x', b: 1 }))).toBe(writer.id);
      await produce(kafka, input, [{ key: 'k', value: writer.serialize({ a: 'new', b: 1 }) }]);
      const got = await readUntil(kafka, out, (rs) => rs.length >= 2);
      expect(got.map((r) => r.value)).toEqual(['old', 'new']);
      const admin = kafka.admin();
      await admin.connect();
      const dlq = await admin.fetchTopicOffsets(`${run}-dlq`);
      await admin.disconnect();
      expect(dlq.map((p) => p.high)).toEqual(['0']);
    } finally {
      await app.close();
    }
  });
});
