/** The soak with the count-by-key app (test/support/count-worker.ts) and a keyed producer. */
import path from 'node:path';
import { createTopics } from '../../connectors/kafka/topics.js';
import { CountApp, countOracle, KeyedFeeder, tasksOf, verifyCounts } from '../lib/count-fleet.js';
import type { Child } from '../../harness/processes.js';
import type { Fleet, SoakContext, SoakOptions } from './fleet.js';

export async function countFleet(o: SoakOptions, ctx: SoakContext): Promise<Fleet> {
  const input = 'soak-count-in';
  const output = 'soak-count-out';
  await createTopics(ctx.kafka, [
    { topic: input, partitions: o.partitions },
    { topic: output, partitions: o.partitions },
  ]);
  const app = new CountApp(
    'soak-count',
    input,
    output,
    o.guarantee,
    () => ctx.cluster.bootstrap,
    path.join(ctx.work, 'state'),
  );
  let seq = o.seed;
  const feeder = new KeyedFeeder(ctx.kafka, input, {
    rate: o.rate,
    tickMs: 100,
    log: false,
    key: () => `k${((seq = (Math.imul(seq, 1103515245) + 12345) >>> 0) >>> 8) % 1000}`,
  });
  return {
    tasks: o.partitions,
    startInstance: (name) => app.start(name),
    runningTasks: async (c: Child) => tasksOf(c),
    startProducer: () => feeder.start(),
    async stopProducer() {
      await feeder.stop();
      return { records: feeder.acked.length, detail: { failed_sends: feeder.failedSends } };
    },
    async verify(produced, instances) {
      const oracle = await countOracle(ctx.kafka, input, feeder.acked);
      const v = await verifyCounts(ctx.kafka, output, oracle, 900_000);
      for (const c of instances) c.signal('SIGTERM');
      await Promise.all(instances.map((c) => c.exited));
      return {
        recordsIn: oracle.inputRecords,
        recordsOut: v.outputRecords,
        lost: v.lost.length + oracle.ackedMissing.length,
        duplicated: v.duplicated,
        // Under exactly-once a key's counts must be 1…n in order.
        wrong: o.guarantee === 'exactly_once' ? v.wrongSequences.length : 0,
        detail: {
          acknowledged: produced.records,
          acked_missing: oracle.ackedMissing.length,
          counts_lost: v.lost.length,
          keys_out_of_order: v.wrongSequences.length,
          ...produced.detail,
        },
        examples: [
          ...v.examples,
          ...v.lost.slice(0, 5).map((l) => `count never output: ${l}`),
          ...oracle.ackedMissing.slice(0, 5).map((m) => `acknowledged, not in the input: ${m}`),
        ],
      };
    },
    close: async () => {},
  };
}
