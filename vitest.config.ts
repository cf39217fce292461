import { defineConfig } from 'vitest/config';

// Three layers: unit (no servers, seconds), integration (real Kafka, registry,
// Snowflake emulator started by the global setup), e2e (several processes, faults).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: [
            '{topology,processors,state,runtime,connectors,schemas,apps,cli,observability,bench,deploy,docs,lint,harness}/**/*.test.ts',
            '*.test.ts',
          ],
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/support/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 180_000,
          fileParallelism: false,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          globalSetup: ['test/support/global-setup.ts'],
          testTimeout: 300_000,
          hookTimeout: 300_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
