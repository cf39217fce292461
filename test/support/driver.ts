/**
 * What the unit tests that run topologies in the test driver share: a driver per test,
 * closed after it, and a seeded PRNG so that a failing random case can be replayed.
 */
import { afterEach } from 'vitest';
import { TopologyTestDriver, type DriverOptions } from '../../runtime/testing/driver.js';
import type { BuiltTopology } from '../../topology/index.js';

/** mulberry32, the one the synthetic feed draws from: uniform [0, 1) numbers from a seed. */
export { prng as rng } from '../../connectors/finnhub/prng.js';

/**
 * Call at the top of a test file. The function it returns creates a driver for a
 * topology; the last one a test created is closed after the test.
 */
export function useDriver(): (
  topology: BuiltTopology,
  options?: DriverOptions,
) => Promise<TopologyTestDriver> {
  let driver: TopologyTestDriver | undefined;
  afterEach(async () => {
    await driver?.close();
    driver = undefined;
  });
  return async (topology, options) => (driver = await TopologyTestDriver.create(topology, options));
}
