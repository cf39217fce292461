/**
 * millrace runs on kafkajs 2.2.4 with changes of its own (patches/kafkajs+2.2.4.patch in
 * the repository): KIP-447 requests for exactly-once (TxnOffsetCommit v3 with the group's
 * generation, OffsetFetch v7 with require_stable), a hook before each group join, the
 * assignment's userData on each join (standby tasks, the group's query endpoints), a
 * read_committed filter that takes the aborted transactions in offset order, each batch's
 * fetch offset, a consumer that stays stopped when stopped while the brokers change, and a
 * faster produce encoder. The package ships that copy as a bundled dependency
 * (node_modules/millrace/node_modules/kafkajs), and the patch adds `millrace-patch.json`
 * to it, naming what it has. At start-up the runtime checks that the kafkajs it loaded
 * is that copy and has what the configured guarantee needs: an unpatched kafkajs would
 * otherwise fail later, mid-commit, or silently lose the zombie fencing.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

/** What each processing guarantee needs from the patched client. */
export const REQUIRED_CLIENT_FEATURES = {
  at_least_once: [
    'consumer-before-join',
    'produce-progress-per-partition',
    'metadata-leaderless-partitions',
    'group-join-user-data',
    'batch-fetched-offset',
    'fetch-manager-stop',
    'init-producer-id-any-broker',
    'offset-manager-current-coordinator',
    'consumer-survives-dead-broker',
  ],
  exactly_once: [
    'consumer-before-join',
    'produce-progress-per-partition',
    'metadata-leaderless-partitions',
    'group-join-user-data',
    'admin-fetch-offsets-partitions',
    'offset-fetch-v7-require-stable',
    'txn-offset-commit-v3',
    'transaction-add-partitions-offsets',
    'fetch-aborted-transactions-ordered',
    'batch-fetched-offset',
    'fetch-manager-stop',
    'admin-offsets-read-uncommitted',
    'init-producer-id-any-broker',
    'offset-manager-current-coordinator',
    'consumer-survives-dead-broker',
  ],
} as const;

export type ClientGuarantee = keyof typeof REQUIRED_CLIENT_FEATURES;

/** What `millrace-patch.json` in the loaded kafkajs says (absent: not millrace's copy). */
export interface KafkaClientPatch {
  /** Where kafkajs was loaded from. */
  dir: string;
  /** kafkajs's own version. */
  kafkajs: string;
  /** The marker's version and features; undefined when the marker is absent. */
  patch?: { version: number; features: string[] };
}

export class KafkaClientError extends Error {
  readonly code = 'KAFKA_CLIENT_UNPATCHED';
  readonly domain = 'user' as const;
  readonly retriable = false;

  constructor(message: string) {
    super(message);
    this.name = 'KafkaClientError';
  }
}

/** Reads the marker of the kafkajs that `import 'kafkajs'` loads from connectors/kafka/. */
export function loadedKafkaClient(
  resolve: (id: string) => string = createRequire(import.meta.url).resolve,
): KafkaClientPatch {
  const dir = path.dirname(resolve('kafkajs/package.json'));
  const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as {
    version: string;
  };
  const marker = path.join(dir, 'millrace-patch.json');
  if (!fs.existsSync(marker)) return { dir, kafkajs: pkg.version };
  const patch = JSON.parse(fs.readFileSync(marker, 'utf8')) as KafkaClientPatch['patch'];
  return { dir, kafkajs: pkg.version, ...(patch ? { patch } : {}) };
}

/**
 * Throws a `KafkaClientError` naming the fix when `client` lacks a feature that
 * `guarantee` needs.
 */
export function checkKafkaClient(
  guarantee: ClientGuarantee,
  client: KafkaClientPatch = loadedKafkaClient(),
): void {
  const fix =
    'reinstall millrace (its package brings the patched kafkajs bundled in node_modules/millrace/node_modules/kafkajs) ' +
    'and make sure nothing replaces that copy; in the millrace repository run `npx patch-package`';
  if (!client.patch)
    throw new KafkaClientError(
      `the kafkajs loaded from ${client.dir} (${client.kafkajs}) is not the copy millrace ships (it has no millrace-patch.json), ` +
        `so it lacks what ${guarantee} needs: ${fix}`,
    );
  const have = new Set(client.patch.features);
  const missing = REQUIRED_CLIENT_FEATURES[guarantee].filter((f) => !have.has(f));
  if (missing.length)
    throw new KafkaClientError(
      `the kafkajs loaded from ${client.dir} (millrace patch version ${client.patch.version}) lacks ${missing.join(', ')}, ` +
        `which ${guarantee} needs: ${fix}`,
    );
}
