import type { ConsumerConfig, Kafka } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { createLogger } from './log.js';
import { SinkRunner, type SinkRunnerOptions } from './sink-runner.js';

/** A Kafka whose consumer records its config and refuses to connect (nothing else is needed). */
function recordingKafka() {
  const seen: ConsumerConfig[] = [];
  const kafka = {
    consumer: (config: ConsumerConfig) => {
      seen.push(config);
      return {
        events: { GROUP_JOIN: 'join', CRASH: 'crash' },
        on: () => undefined,
        connect: () => Promise.reject(new Error('no broker in a unit test')),
      };
    },
  } as unknown as Kafka;
  return { kafka, seen };
}

const options = (more: Partial<SinkRunnerOptions> = {}): SinkRunnerOptions => ({
  sinkId: 'sink',
  topics: ['t'],
  target: { readOffsets: async () => new Map(), writeBatch: async () => {} },
  map: () => undefined,
  log: createLogger('error'),
  ...more,
});

describe('SinkRunner consumer', () => {
  it("bounds each fetch by default (1 MiB, 256 KiB per partition), not kafkajs's 10 MiB", async () => {
    const { kafka, seen } = recordingKafka();
    await expect(new SinkRunner(kafka, options()).start(() => {})).rejects.toThrow(/no broker/);
    expect(seen[0]).toMatchObject({ maxBytes: 1 << 20, maxBytesPerPartition: 256 << 10 });
  });

  it('takes the fetch sizes it is given', async () => {
    const { kafka, seen } = recordingKafka();
    const runner = new SinkRunner(
      kafka,
      options({ fetchMaxBytes: 4 << 20, maxPartitionFetchBytes: 1 << 20 }),
    );
    await expect(runner.start(() => {})).rejects.toThrow(/no broker/);
    expect(seen[0]).toMatchObject({ maxBytes: 4 << 20, maxBytesPerPartition: 1 << 20 });
  });
});
