/**
 * `npm run bench:kstreams`: Kafka Streams (Java) on bench:engine's workload, on the same
 * broker and machine, so the engine's figures have something to stand beside.
 *   - the same two topologies (bench/lib/topologies.ts, written again in the Kafka Streams
 *     DSL in bench/kafka-streams/), 8 partitions, records preloaded as bench:engine does
 *   - at_least_once and exactly_once_v2, commit.interval.ms as millrace's defaults
 *   - one instance with 1 and with 2 stream threads, each case in a JVM of its own with a
 *     fresh state directory
 * Builds the jar with Maven when its sources or the broker's Kafka version changed (offline
 * once the jars are in the cache). BENCH_RECORDS sizes the input (2,000,000);
 * BENCH_THREADS=1,2 and BENCH_CASES=word,… pick cases. Starts the local broker if it is not
 * running (and stops only what it started). Each JVM's log (warnings and errors) goes to
 * .run/bench-kstreams/<case>.log.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Kafka } from 'kafkajs';
import { createKafka } from '../connectors/kafka/client.js';
import { endpoints, loadConfig } from '../deploy/local/config.js';
import { down, up } from '../deploy/local/infra.js';
import { createTopics, deleteTopicsWithPrefix } from '../connectors/kafka/topics.js';
import {
  caseName,
  caseSlug,
  commitIntervalMs,
  kstreamsCases,
  parseDone,
  toBenchCase,
  type KStreamsCase,
} from './lib/kstreams-cases.js';
import { ensureJar, jvmDefaults, startKStreams } from './lib/kstreams-runner.js';
import { deleteGroupsWithPrefix } from './lib/groups.js';
import { preload } from './lib/preload.js';
import { writeResults, type BenchCase } from './lib/results.js';

const N = Number(process.env.BENCH_RECORDS ?? 2_000_000);
const THREADS = (process.env.BENCH_THREADS ?? '1,2').split(',').map(Number);
if (!THREADS.every((t) => Number.isInteger(t) && t > 0))
  throw new Error(
    `BENCH_THREADS=${process.env.BENCH_THREADS} is not a list of thread counts; use e.g. 1,2`,
  );
const ONLY = process.env.BENCH_CASES?.split(',').map((w) => w.trim());
const run = `bench-ks-${randomUUID().slice(0, 6)}`;
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'millrace-bench-kstreams-'));
const log = (m: string) => process.stderr.write(`[bench:kstreams] ${m}\n`);

async function runKStreamsCase(
  kafka: Kafka,
  brokers: string[],
  classpath: string,
  input: string,
  c: KStreamsCase,
): Promise<BenchCase> {
  const appId = `${run}-${caseSlug(c)}`;
  await createTopics(kafka, [{ topic: `${appId}-out`, partitions: 8 }]);
  const line = await startKStreams(
    classpath,
    {
      APP: appId,
      INPUT: input,
      OUTPUT: `${appId}-out`,
      KIND: c.kind,
      GUARANTEE: c.guarantee,
      THREADS: String(c.threads),
      BROKERS: brokers.join(','),
      STATE_DIR: path.join(root, appId),
      EXPECTED: String(N),
      COMMIT_INTERVAL_MS: String(commitIntervalMs(c.guarantee)),
      CACHE_MAX_BYTES: c.cacheMaxBytes === undefined ? '' : String(c.cacheMaxBytes),
    },
    path.join(cfg.runDir, 'bench-kstreams', `${caseSlug(c)}.log`),
  ).done;
  const r = toBenchCase(c, parseDone(line));
  log(
    `${caseName(c)} ${c.guarantee}: ${r.records_per_s} records/s (all consumed after ${r.all_consumed_s} s of ${r.seconds} s), peak RSS ${r.rss_mib} MiB`,
  );
  return r;
}

const cfg = loadConfig();
const classpath = ensureJar(cfg, log);
const jvm = jvmDefaults();
const started = await up({ services: ['kafka'], progress: log }, cfg);
const brokers = endpoints(cfg).kafkaBrokers;
const kafka = createKafka({ brokers, clientId: run });
try {
  const input = `${run}-in`;
  await createTopics(kafka, [{ topic: input, partitions: 8 }]);
  await preload(kafka, input, N, 10_000, log);
  const results: BenchCase[] = [];
  for (const c of kstreamsCases(THREADS, ONLY))
    results.push(await runKStreamsCase(kafka, brokers, classpath, input, c));
  const file = writeResults(
    'kstreams',
    'npm run bench:kstreams',
    results,
    [
      `Kafka Streams ${cfg.kafka.version} (Java), one instance per case in its own JVM with no flags: the JVM's defaults (${jvm}); peak RSS = the JVM's VmHWM.`,
      `Same broker (Kafka ${cfg.kafka.version}, on this machine), same machine and same topic shape as bench:engine: ${N} records preloaded by bench/lib/preload.ts, 10,000 keys, 100-byte values, input and output topics of 8 partitions; commit.interval.ms 1000 at-least-once / 100 exactly-once (millrace's defaults); fresh state directory per case.`,
      'Timed from the first record handed to a stream thread (a consumer interceptor) until the application’s committed offsets (Admin listConsumerGroupOffsets, polled every 5 ms once every record was consumed) reach the input’s end offsets: every record processed, its outputs written, its offsets committed.',
      'Count-by-key: "record cache 10 MiB (default)" collapses updates of a key between commits into one output and one changelog record; "record cache off" (statestore.cache.max.bytes=0) forwards and logs every update. millrace forwards every update and collapses only changelog writes, so it does work between the two.',
    ].join(' '),
  );
  log(`wrote ${file}`);
} finally {
  await deleteTopicsWithPrefix(kafka, run);
  await deleteGroupsWithPrefix(kafka, run);
  fs.rmSync(root, { recursive: true, force: true });
  await down(started, cfg);
}
