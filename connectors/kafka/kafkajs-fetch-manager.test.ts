/**
 * kafkajs's fetch manager, as patched: a consumer stopped while its fetchers are being
 * recreated (the cluster's brokers changed: one died or came back) stops for good.
 *
 * Published kafkajs 2.2.4 recreated the fetchers after its own stop had already stopped the
 * old ones: the new fetchers ran on with the consumer stopped, its fetch answering "not
 * running" at once, so each fetcher looped on resolved promises only — no timer, no I/O of
 * the process ran again, at full CPU. Seen in the e2e layer: an instance stopped while a
 * broker of the three-node cluster was down (test/e2e/cluster-startup.test.ts) froze the
 * test process. Pure logic: the fetch manager over a fetch function of this test's own.
 */
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);
const createFetchManager = require('kafkajs/src/consumer/fetchManager') as (o: {
  logger: unknown;
  getNodeIds: () => number[];
  fetch: (nodeId: number) => Promise<unknown[]>;
  handler: (batch: unknown) => Promise<void>;
}) => { start(): Promise<void>; stop(): Promise<void> };

const logger = {
  namespace: () => logger,
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('kafkajs fetch manager (patched)', () => {
  it('stopped while it recreates its fetchers after a broker change, it starts none again', async () => {
    let nodes = [1];
    let fetches = 0;
    let stopping: Promise<void> | undefined;
    const manager = createFetchManager({
      logger,
      getNodeIds: () => {
        // The consumer is stopped at the moment the fetchers see the brokers change.
        if (fetches >= 5 && nodes.length === 1) {
          nodes = [1, 2];
          stopping = manager.stop();
        }
        return nodes;
      },
      fetch: async () => {
        fetches++;
        await sleep(1);
        return [];
      },
      handler: async () => {},
    });
    const started = manager.start().then(
      () => 'returned',
      (e: Error) => `threw ${e.name}`,
    );
    while (!stopping) await sleep(5);
    await stopping;
    const settled = await Promise.race([started, sleep(2000).then(() => 'still running')]);
    const after = fetches;
    await sleep(100);
    expect({ settled, fetchesAfterStop: fetches - after }).toEqual({
      settled: 'returned',
      fetchesAfterStop: 0,
    });
  });

  it('recreates its fetchers after a broker change while it runs', async () => {
    let nodes = [1];
    const byNode = new Map<number, number>();
    const manager = createFetchManager({
      logger,
      getNodeIds: () => nodes,
      fetch: async (nodeId: number) => {
        byNode.set(nodeId, (byNode.get(nodeId) ?? 0) + 1);
        await sleep(1);
        return [];
      },
      handler: async () => {},
    });
    const started = manager.start();
    while ((byNode.get(1) ?? 0) < 3) await sleep(5);
    nodes = [1, 2];
    while ((byNode.get(2) ?? 0) < 3) await sleep(5);
    await manager.stop();
    await started;
    const total = [...byNode.values()].reduce((a, b) => a + b, 0);
    await sleep(50);
    expect([...byNode.values()].reduce((a, b) => a + b, 0)).toBe(total);
  });
});
