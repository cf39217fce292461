/**
 * The cases of `npm run bench:kstreams` (Kafka Streams on the engine bench's workload), how
 * the Java program's answer becomes a result row, and when its jar must be rebuilt.
 */
import { createHash } from 'node:crypto';
import { resolveConfig } from '../../runtime/config.js';
import type { BenchCase } from './results.js';

export type Guarantee = 'at_least_once' | 'exactly_once_v2';

export interface KStreamsCase {
  kind: 'stateless' | 'stateful';
  guarantee: Guarantee;
  threads: number;
  /** statestore.cache.max.bytes; undefined keeps Kafka Streams' default (10 MiB). */
  cacheMaxBytes?: number;
}

/** Kafka Streams' default record cache (statestore.cache.max.bytes), for the labels. */
export const KSTREAMS_DEFAULT_CACHE_BYTES = 10 * 1024 * 1024;

/**
 * millrace's default commit interval for the guarantee (1000 ms at-least-once, 100 ms
 * exactly-once), read from millrace's own config so the two benches cannot drift apart.
 */
export function commitIntervalMs(guarantee: Guarantee): number {
  return resolveConfig({
    applicationId: 'bench',
    bootstrapServers: 'localhost:9092',
    processingGuarantee: guarantee === 'exactly_once_v2' ? 'exactly_once' : 'at_least_once',
  }).commitInterval;
}

/**
 * Every case, for each thread count: stateless map/filter, and count-by-key twice — with
 * Kafka Streams' default record cache (updates of a key between commits collapse into one
 * output and one changelog record) and with it off (every update forwarded and logged).
 * millrace sits between the two: it forwards every update but collapses changelog writes.
 * `only` keeps the cases whose name contains one of its words (as BENCH_CASES does).
 */
export function kstreamsCases(
  threads: readonly number[],
  only?: readonly string[],
): KStreamsCase[] {
  const all: KStreamsCase[] = [];
  for (const t of threads)
    for (const shape of [
      { kind: 'stateless' },
      { kind: 'stateful' },
      { kind: 'stateful', cacheMaxBytes: 0 },
    ] as const)
      for (const guarantee of ['at_least_once', 'exactly_once_v2'] as const)
        all.push({ ...shape, guarantee, threads: t });
  return only?.length ? all.filter((c) => only.some((w) => caseName(c).includes(w))) : all;
}

/** A row's name; the first words match bench:engine's rows for the same topology. */
export function caseName(c: KStreamsCase): string {
  const threads = `${c.threads} stream thread${c.threads === 1 ? '' : 's'}`;
  if (c.kind === 'stateless') return `stateless map/filter, ${threads}`;
  const cache =
    c.cacheMaxBytes === undefined
      ? 'record cache 10 MiB (default)'
      : c.cacheMaxBytes === 0
        ? 'record cache off'
        : `record cache ${c.cacheMaxBytes} bytes`;
  return `count-by-key, RocksDB + changelog, ${cache}, ${threads}`;
}

/** A short id for topic and group names: `stateful-nocache-eos-t2`. */
export function caseSlug(c: KStreamsCase): string {
  const cache = c.kind === 'stateful' && c.cacheMaxBytes === 0 ? '-nocache' : '';
  const g = c.guarantee === 'exactly_once_v2' ? 'eos' : 'alos';
  return `${c.kind}${cache}-${g}-t${c.threads}`;
}

/** What the Java program prints when it is done (see KafkaStreamsBench.java). */
export interface KStreamsDone {
  event: 'done';
  seconds: number;
  records: number;
  consumed: number;
  peakRssMiB: number;
  /** When the last record was handed to a stream thread, from the first: the rest is the final commit. */
  allConsumedSeconds?: number;
}

/** Reads the Java program's last line: its `done` answer, or the error it reported. */
export function parseDone(line: string): KStreamsDone {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(line) as Record<string, unknown>;
  } catch {
    throw new Error(`Kafka Streams bench printed something other than JSON: ${line}`);
  }
  if (o.event === 'failed') throw new Error(`Kafka Streams bench failed: ${String(o.error)}`);
  for (const k of ['seconds', 'records', 'consumed', 'peakRssMiB'])
    if (typeof o[k] !== 'number' || !Number.isFinite(o[k]) || (o[k] as number) < 0)
      throw new Error(`Kafka Streams bench's answer has no valid ${k}: ${line}`);
  if (o.event !== 'done' || (o.seconds as number) <= 0)
    throw new Error(`Kafka Streams bench's answer is not a finished run: ${line}`);
  return o as unknown as KStreamsDone;
}

/** The result row of one case, in bench/lib/results.ts's shape plus what set it apart. */
export function toBenchCase(c: KStreamsCase, done: KStreamsDone): BenchCase {
  return {
    case: caseName(c),
    guarantee: c.guarantee,
    records: done.records,
    seconds: Math.round(done.seconds * 1000) / 1000,
    records_per_s: Math.round(done.records / done.seconds),
    p50_ms: null,
    p99_ms: null,
    rss_mib: done.peakRssMiB,
    stream_threads: c.threads,
    commit_interval_ms: commitIntervalMs(c.guarantee),
    statestore_cache_max_bytes:
      c.kind === 'stateless' ? null : (c.cacheMaxBytes ?? KSTREAMS_DEFAULT_CACHE_BYTES),
    all_consumed_s:
      done.allConsumedSeconds === undefined
        ? null
        : Math.round(done.allConsumedSeconds * 1000) / 1000,
  };
}

/**
 * The fingerprint of what the jar is built from: the Kafka version and every source file
 * (path and content, in any order). The jar is rebuilt when it changes.
 */
export function buildFingerprint(
  kafkaVersion: string,
  files: ReadonlyArray<{ path: string; content: string | Buffer }>,
): string {
  const h = createHash('sha256').update(`kafka ${kafkaVersion}\n`);
  for (const f of [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)))
    h.update(`${f.path}\n${f.content.length}\n`).update(f.content);
  return h.digest('hex').slice(0, 16);
}
