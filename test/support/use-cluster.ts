/**
 * The three-node cluster of a test file (or of a describe block): started before its
 * tests, stopped after them, once `cleanup` (the processes the tests started, their
 * folders) has run. Usable at once; its lookups and clients work from the first test on.
 *
 * @example
 *   const cluster = useTestCluster(() => fs.rmSync(dir, { recursive: true, force: true }));
 *   it('…', async () => { await cluster.kill(cluster.nodeIds[0]!); });
 */
import { afterAll, beforeAll } from 'vitest';
import { TestCluster } from './cluster.js';

export function useTestCluster(cleanup?: () => unknown): TestCluster {
  const cluster = TestCluster.unstarted();
  beforeAll(() => cluster.begin(), 300_000);
  afterAll(async () => {
    await cleanup?.();
    await cluster.stop();
  }, 120_000);
  return cluster;
}
