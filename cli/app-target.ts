/**
 * The app an operations command (`status`, `reset`) works on, resolved the way
 * `millrace run` resolves it: the topology from an app folder or topology file, the
 * application id from --app-id, MILLRACE_APPLICATION_ID, the app's own, or the name;
 * brokers from --brokers, MILLRACE_BOOTSTRAP_SERVERS or 127.0.0.1:9092; the state dir
 * from --state-dir, MILLRACE_STATE_DIR or .millrace/state.
 */
import path from 'node:path';
import type { BuiltTopology } from '../topology/index.js';
import { UsageError } from './errors.js';
import { loadTopology } from './load.js';

export interface AppTarget {
  topology: BuiltTopology;
  applicationId: string;
  brokers: string[];
  stateDir: string;
}

export const TARGET_FLAGS = ['app-id', 'brokers', 'state-dir'];

export async function resolveTarget(
  target: string,
  flags: Record<string, string | true>,
): Promise<AppTarget> {
  const { topology, app, name } = await loadTopology(target);
  const value = (f: string) => (typeof flags[f] === 'string' ? (flags[f] as string) : undefined);
  const applicationId =
    value('app-id') ?? process.env.MILLRACE_APPLICATION_ID ?? app?.applicationId ?? name;
  const brokers = (value('brokers') ?? process.env.MILLRACE_BOOTSTRAP_SERVERS ?? '127.0.0.1:9092')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const bad = brokers.filter((b) => !/^[^:\s]+:\d+$/.test(b));
  if (!brokers.length || bad.length)
    throw new UsageError(
      `--brokers: write brokers as host:port[,host:port] (got "${bad.join(',')}")`,
    );
  const stateDir =
    value('state-dir') ?? process.env.MILLRACE_STATE_DIR ?? path.join('.millrace', 'state');
  return { topology, applicationId, brokers, stateDir };
}

export const TARGET_HELP =
  `  --app-id ID        application id = consumer group (default: as \`millrace run\`: MILLRACE_APPLICATION_ID, the app's, or the file name)\n` +
  `  --brokers LIST     Kafka bootstrap servers (default MILLRACE_BOOTSTRAP_SERVERS or 127.0.0.1:9092)\n`;
