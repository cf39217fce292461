/**
 * An instance starting while a broker dies, on a three-node cluster (RF 3, min ISR 2) of
 * this file's own: the start-up steps (claiming the transactional id, subscribing) are
 * retried while the dead broker's coordinators and leaders move.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import '../../processors/index.js';
import { StreamsApp } from '../../runtime/app.js';
import { countByKeyTopology } from '../support/cluster.js';
import { useTestCluster } from '../support/use-cluster.js';
import { createTopics } from '../support/kafka-helpers.js';
import { readUntil } from '../support/kafka-helpers.js';

const run = `e2e-cs-${randomUUID().slice(0, 8)}`;
const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'millrace-cs-'));
const cluster = useTestCluster(() => fs.rmSync(stateDir, { recursive: true, force: true }));

describe('start-up on a three-node cluster', () => {
  it('starts while a broker dies during its start-up, and counts with that broker down', async () => {
    // A broker killed while an instance starts took the transaction coordinator or a
    // leader the start-up steps were talking to: 7 of 8 such starts failed (exit 3 in
    // the soak) before those steps were retried.
    const kafka = cluster.kafka(`${run}-midstart`);
    const input = `${run}-in3`;
    await createTopics(kafka, [{ topic: input, partitions: 4, replicationFactor: 3 }]);
    await createTopics(kafka, [{ topic: `${input}-counts`, partitions: 4, replicationFactor: 3 }]);
    for (const [i, [victim, delayMs]] of [
      [1, 300],
      [2, 1_500],
    ].entries()) {
      const app = new StreamsApp(countByKeyTopology(input), {
        applicationId: `${run}-app3`,
        bootstrapServers: cluster.brokers,
        stateDir: path.join(stateDir, `midstart-${i}`),
        processingGuarantee: 'exactly_once',
      });
      const killed = new Promise((r) => setTimeout(r, delayMs)).then(() => cluster.kill(victim!));
      try {
        await app.start();
        await killed;
        // The killed broker stays the leader of its partitions until the controller fences
        // it (broker.session.timeout.ms, 9 s): the input's writer retries for longer than
        // that, as the runtime's own producers do (kafkajs's default gives up after ~8 s).
        const producer = cluster.kafka(`${run}-midstart-p`).producer({
          idempotent: true,
          retry: { retries: 12, initialRetryTime: 300, maxRetryTime: 3000 },
        });
        await producer.connect();
        const messages = Array.from({ length: 40 }, (_, k) => ({
          key: `k${k % 8}`,
          value: `${i}`,
        }));
        await producer.send({ topic: input, messages, acks: -1 });
        await producer.disconnect();
        // Every key's count reaches what was written so far (5 per key per round).
        const counts = await readUntil(
          cluster.kafka(`${run}-midstart-r`),
          `${input}-counts`,
          (rs) =>
            new Set(rs.filter((r) => r.value === String(5 * (i + 1))).map((r) => r.key)).size === 8,
          120_000,
        );
        expect(counts.length).toBeGreaterThan(0);
      } finally {
        await killed;
        await app.close();
        await cluster.startNode(victim!);
      }
    }
  }, 400_000);
});
