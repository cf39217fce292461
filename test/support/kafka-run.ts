/**
 * What the Kafka test files share around their tests: a run id that prefixes every topic
 * and application id of the file (so files never meet), a client for the layer's broker,
 * a temporary directory for state, and after the file: its processes stopped (when it
 * says how), the run's topics deleted and the directory removed.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import { afterAll, inject } from 'vitest';
import { createKafka } from '../../connectors/kafka/client.js';
import { deleteTopicsWithPrefix } from '../../connectors/kafka/topics.js';

export interface KafkaRun {
  /** `<prefix>-<8 hex>`: the prefix of the file's topics and application ids. */
  readonly run: string;
  /** A client for the layer's broker (kafkajs connects nothing until it is used). */
  readonly kafka: Kafka;
  /** The layer's broker addresses. */
  readonly brokers: string[];
  /** A temporary directory of the file's own, removed after the file. */
  readonly dir: string;
}

/**
 * Call at the top of a test file: `prefix` names the run (`it-count`), `dirPrefix` the
 * temporary directory (`millrace-count-`). `stopFirst` runs after the file's tests and
 * before its topics are deleted (stop the processes that still use them).
 */
export function useKafkaRun(
  prefix: string,
  dirPrefix: string,
  stopFirst?: () => Promise<unknown>,
): KafkaRun {
  const run = `${prefix}-${randomUUID().slice(0, 8)}`;
  const brokers = inject('kafkaBrokers');
  const kafka = createKafka({ brokers, clientId: run });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), dirPrefix));
  afterAll(async () => {
    await stopFirst?.();
    await deleteTopicsWithPrefix(kafka, run);
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return { run, kafka, brokers, dir };
}
