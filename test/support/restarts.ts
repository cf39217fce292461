/**
 * Apps run for a test: one instance for the length of a test's body, or two across a
 * restart that loses the local state, as the tests of state restored from changelogs do
 * it (the first instance runs, stops, its state directory is removed, and a second
 * instance, which must restore what the first wrote, runs).
 */
import fs from 'node:fs';
import { inject } from 'vitest';
import { StreamsApp } from '../../runtime/app.js';
import type { StreamsConfigInput } from '../../runtime/config.js';
import type { BuiltTopology } from '../../topology/index.js';

/** Exactly-once, a short commit interval, the layer's broker. */
export function eosConfig(applicationId: string, stateDir: string) {
  return {
    applicationId,
    bootstrapServers: inject('kafkaBrokers'),
    processingGuarantee: 'exactly_once' as const,
    stateDir,
    commitInterval: 200,
  };
}

type Config = ReturnType<typeof eosConfig>;

/** Starts an instance of `topology`, runs `body` on it, and closes it (also when `body` throws). */
export async function withApp<T>(
  topology: BuiltTopology,
  config: StreamsConfigInput,
  body: (streams: StreamsApp) => Promise<T>,
): Promise<T> {
  const streams = new StreamsApp(topology, config);
  await streams.start();
  try {
    return await body(streams);
  } finally {
    await streams.close();
  }
}

/**
 * Runs `first` on one instance, stops it, removes the state directory, runs `between`
 * (e.g. produces what the second instance is to read), then `second` on a new instance.
 */
export async function acrossRestart(
  topology: () => BuiltTopology,
  config: Config,
  first: (streams: StreamsApp) => Promise<void>,
  second: (streams: StreamsApp) => Promise<void>,
  between: () => Promise<void> = async () => {},
): Promise<void> {
  await withApp(topology(), config, first);
  fs.rmSync(config.stateDir, { recursive: true, force: true });
  await between();
  await withApp(topology(), config, second);
}

/** Waits until the instance has committed every input record it owns. */
export async function caughtUp(streams: StreamsApp, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const lag = await streams.consumerLag();
    if (lag.length && lag.every((p) => p.lag === 0)) return;
    if (Date.now() > deadline) throw new Error(`not caught up: ${JSON.stringify(lag)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
