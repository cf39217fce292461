/**
 * A restore reads a changelog partition to its log end, not to its last stable offset.
 *
 * After EndTxn answers, the transaction coordinator writes the commit markers partition by
 * partition; the marker of the `__consumer_offsets` partition can be written (the task's
 * committed offsets then read as stable) while the one of a changelog partition is not yet
 * (its leader is moving, as in a rolling restart of the brokers). On that changelog
 * partition the last stable offset stays before the transaction's records. A task restored
 * in that moment to the last stable offset missed the state updates whose inputs its
 * offsets already covered: the three-broker rolling-restart test saw counts set back by one
 * commit's updates, each count then output twice, the last ones never.
 *
 * On one broker, a transaction held open by a producer of the test puts a changelog
 * partition in the same state (records past the last stable offset, no marker yet). The
 * instance must wait for the marker and restore the record; a restore to the last stable
 * offset would start the task without it and count from 0.
 */
import type { Producer } from 'kafkajs';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { StreamsApp } from '../../runtime/app.js';
import { endOffsets, logEndOffsets } from '../../runtime/restore.js';
import { countTopology } from '../support/count-app.js';
import {
  createTopics,
  produce,
  readUntil,
  valuesByKey,
  withAdmin,
} from '../support/kafka-helpers.js';
import { useKafkaRun } from '../support/kafka-run.js';

const { run, kafka, dir: stateDir } = useKafkaRun('it-pending-markers', 'millrace-markers-');
let open: Producer | undefined;

afterEach(async () => {
  await open?.disconnect().catch(() => {});
  open = undefined;
});

describe('restore with a changelog transaction whose markers are not written yet', () => {
  it('waits for the marker and restores the transaction’s records before the task processes', async () => {
    const app = `${run}-app`;
    const [inTopic, outTopic, changelog] = [`${app}-in`, `${app}-out`, `${app}-counts-changelog`];
    await createTopics(kafka, [
      { topic: inTopic, partitions: 1 },
      { topic: outTopic, partitions: 1 },
      { topic: changelog, partitions: 1, config: { 'cleanup.policy': 'compact' } },
    ]);
    // k's state before: 40 committed, then 41 in a transaction left open.
    await produce(kafka, changelog, [{ key: 'k', value: '40', partition: 0 }]);
    open = kafka.producer({
      transactionalId: `${app}-previous-owner`,
      idempotent: true,
      maxInFlightRequests: 1,
    });
    await open.connect();
    const txn = await open.transaction();
    await txn.send({ topic: changelog, messages: [{ key: 'k', value: '41', partition: 0 }] });

    const [stable, logEnd] = await withAdmin(kafka, async (admin) => [
      (await endOffsets(admin, [changelog])).get(`${changelog}:0`),
      (await logEndOffsets(admin, [changelog])).get(`${changelog}:0`),
    ]);
    expect({ stable, logEnd }).toEqual({ stable: 1, logEnd: 2 });

    await produce(kafka, inTopic, [{ key: 'k', value: 'v' }]);
    const streams = new StreamsApp(countTopology(inTopic, outTopic, stateDir), {
      applicationId: app,
      bootstrapServers: inject('kafkaBrokers'),
      processingGuarantee: 'exactly_once',
      stateDir,
      commitInterval: '100ms',
    });
    await streams.start();
    try {
      // The restore waits: nothing is processed while the marker is missing.
      await new Promise((r) => setTimeout(r, 3000));
      expect(streams.tasks.get('0_0')?.state).toBe('restoring');
      await txn.commit();
      const out = await readUntil(kafka, outTopic, (got) => got.length >= 1);
      expect(valuesByKey(out).get('k')).toEqual(['42']);
    } finally {
      await streams.close();
    }
  });
});
