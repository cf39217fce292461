/**
 * The streams config: a zod schema, so every setting is checked at the edge and an
 * error names the field and the fix. Precedence: defaults < file (`configFromFile`, e.g.
 * `millrace run --config millrace.yaml`) < `MILLRACE_*` environment (`configFromEnv`) <
 * code and flags. Unknown keys are rejected. The result is frozen.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { parseDuration } from './duration.js';
import { ConfigError } from './errors.js';
import { DEFAULT_RESTORE_FETCH_MAX_BYTES } from './restore.js';
import { DEFAULT_LEVELDB_MEMORY } from '../state/index.js';

const duration = (what: string) =>
  z.union([z.string(), z.number()]).transform((v, ctx) => {
    const ms = parseDuration(v);
    if (ms === undefined) {
      ctx.addIssue({
        code: 'custom',
        message: `${what}: "${v}" is not a duration; write e.g. "100ms", "10s", "1m"`,
      });
      return z.NEVER;
    }
    return ms;
  });

/** A whole number of bytes in [min, max] (the error names the field before these messages). */
const bytes = (min: number, max: number) =>
  z
    .number({ error: `write a whole number of bytes, e.g. ${1 << 20} for 1 MiB` })
    .int(`write a whole number of bytes, e.g. ${1 << 20} for 1 MiB`)
    .min(min, `must be at least ${min} bytes`)
    .max(max, `must be at most ${max} bytes (1 GiB)`);

/** Default `fetchMaxBytes` (Kafka's `fetch.max.bytes`), also the `millrace sink` consumer's. */
export const DEFAULT_FETCH_MAX_BYTES = 1 << 20;
/**
 * Default `maxPartitionFetchBytes` (Kafka's `max.partition.fetch.bytes`, and Kafka's default).
 * A fetch still holds at most `fetchMaxBytes` in all; 1 MiB per partition instead of 256 KiB
 * fills it from fewer partitions, so each task is handed bigger batches and a thread goes
 * round its fetch, process and commit cycle less often: the engine's cases ran 10–70 %
 * faster for at most 56 MiB more peak RSS (docs/benchmarks.md). The pipeline app and the
 * sink keep 256 KiB ({@link SINK_MAX_PARTITION_FETCH_BYTES}): it cost them memory, not time.
 */
export const DEFAULT_MAX_PARTITION_FETCH_BYTES = 1 << 20;
/** The `millrace sink` consumer's default `max.partition.fetch.bytes`. */
export const SINK_MAX_PARTITION_FETCH_BYTES = 256 << 10;

const failureAction = z.enum(['continue', 'fail', 'dead-letter']);

export const streamsConfigSchema = z
  .object({
    /** Consumer group id and prefix of every internal topic. Letters, digits, `.`, `_`, `-`. */
    applicationId: z.string().regex(/^[A-Za-z0-9._-]+$/, 'use letters, digits, ".", "_" or "-"'),
    /** Kafka bootstrap servers, `host:port`. */
    bootstrapServers: z
      .union([z.string(), z.array(z.string())])
      .transform((v) => (Array.isArray(v) ? v : v.split(',')).map((s) => s.trim()).filter(Boolean))
      .pipe(z.array(z.string().regex(/^[^:\s]+:\d+$/, 'write brokers as host:port')).min(1)),
    /**
     * `at_least_once` (default) or `exactly_once`: each commit is one Kafka transaction of
     * the instance, holding every task's outputs, changelog records and consumer offsets
     * (what Kafka Streams calls `exactly_once_v2`, accepted here as another name for it).
     */
    processingGuarantee: z
      .enum(['at_least_once', 'exactly_once', 'exactly_once_v2'])
      .default('at_least_once')
      .transform((g) => (g === 'exactly_once_v2' ? 'exactly_once' : g)),
    /** How often tasks commit. Default 100ms under exactly_once, 1s otherwise. */
    commitInterval: duration('commitInterval').optional(),
    /**
     * Exactly-once: the broker aborts a transaction left open longer than this. After a
     * crash, what the instance's open transaction held blocks read_committed readers of
     * its partitions (and the tasks' new owners) until the instance restarts or this
     * passes. Default 10s, as Kafka Streams. (A transaction begins ahead of its commit
     * only when the commit interval is under a quarter of this; otherwise it begins when
     * the commit sends, and lasts as long as the send.)
     */
    transactionTimeout: duration('transactionTimeout').default(10_000),
    /** Root of local state (LevelDB stores, checkpoints). */
    stateDir: z.string().min(1).default('.millrace/state'),
    /** `leveldb` (default) or `memory` (state lives only in the changelog; restored on every start). */
    storeBackend: z.enum(['leveldb', 'memory']).default('leveldb'),
    /**
     * Most entries each store's write cache keeps (dirty and clean). The cache absorbs
     * repeated writes between commits and serves hot reads; what it holds stays in memory
     * (JS heap and Buffers), per store per task.
     */
    cacheMaxEntries: z.number().int().positive().default(10_000),
    /**
     * Most bytes one fetch from Kafka may return, over all partitions (Kafka's
     * `fetch.max.bytes`). The records of a fetch stay in memory until the instance has
     * processed them, so this bounds the input held at once. Default 1 MiB.
     */
    fetchMaxBytes: bytes(1024, 1 << 30).default(DEFAULT_FETCH_MAX_BYTES),
    /** Most bytes one fetch may return per partition (Kafka's `max.partition.fetch.bytes`). Default 256 KiB. */
    maxPartitionFetchBytes: bytes(1024, 1 << 30).default(DEFAULT_MAX_PARTITION_FETCH_BYTES),
    /**
     * Most bytes one fetch of a restore (a task replaying its changelogs) may return, over
     * all partitions and per partition. The records stay in memory until the stores have
     * taken them. Default 4 MiB.
     */
    restoreFetchMaxBytes: bytes(1024, 1 << 30).default(DEFAULT_RESTORE_FETCH_MAX_BYTES),
    /**
     * LevelDB block cache of each store (bytes; one cache per store per task). Reads that
     * miss the write cache are served from it. Default 1 MiB.
     */
    leveldbBlockCacheBytes: bytes(0, 1 << 30).default(DEFAULT_LEVELDB_MEMORY.blockCacheBytes),
    /**
     * LevelDB write buffer (memtable) of each store, in bytes: writes collect in it before
     * they go to a file; a store may hold two while one is written out. Default 1 MiB.
     */
    leveldbWriteBufferBytes: bytes(64 << 10, 1 << 30).default(
      DEFAULT_LEVELDB_MEMORY.writeBufferBytes,
    ),
    /**
     * Records a task may process before it commits, even if the commit interval has not
     * passed. A task's outputs wait for its commit (and can keep the fetched input buffers
     * alive), so this bounds the memory a fast input can fill between two commits (checked
     * after each fetched batch: a commit holds at most this plus one batch). Input
     * is bounded by the consumer's fetch sizes: a task processes one fetched batch at a
     * time and the next fetch waits for it.
     */
    maxBufferedRecords: z.number().int().positive().default(5000),
    /**
     * A task that has processed everything its input partitions held (the consumer reached
     * their high watermark) commits without waiting for the rest of the commit interval, at
     * most once every tenth of the interval (and 100 ms): after a burst its offsets, and
     * under at-least-once its outputs, which leave at the commit, go out within about
     * 100 ms rather than up to `commitInterval` later. A busy task (behind its input)
     * commits on the interval as before. false: only the interval and `maxBufferedRecords`.
     * Default true.
     */
    commitWhenCaughtUp: z.boolean({ error: 'write true or false' }).default(true),
    /**
     * How long commits, and the steps of taking tasks over (restoring, reading committed
     * offsets), may keep failing retriably — a broker down, a coordinator moving — before
     * the instance stops with the cause, as a producer's delivery timeout and
     * `task.timeout.ms` do in Kafka Streams. Meanwhile an exactly-once commit that fails is
     * rolled back and its tasks rebuilt; an at-least-once one is retried with the next
     * commit. Default 2 min.
     */
    commitFailureTimeout: duration('commitFailureTimeout').default(120_000),
    /**
     * How often an instance deletes, from the repartition topics its tasks read, the records
     * below the group's committed offsets (Kafka Streams' `repartition.purge.interval.ms`).
     * Repartition topics keep records by no time (`retention.ms=-1`): records keep their
     * event time, and time retention would delete a replay's old records before they are
     * read. Default 30 s.
     */
    repartitionPurgeInterval: duration('repartitionPurgeInterval').default(30_000),
    sessionTimeout: duration('sessionTimeout').default(10_000),
    heartbeatInterval: duration('heartbeatInterval').default(1000),
    rebalanceTimeout: duration('rebalanceTimeout').default(30_000),
    /** What to do with a record whose bytes cannot be decoded. */
    deserializationErrorHandler: failureAction.default('dead-letter'),
    /** What to do when a processor throws on a record. */
    processingErrorHandler: failureAction.default('dead-letter'),
    /** Dead-letter topic. Default `<applicationId>-dlq`. */
    deadLetterTopic: z.string().min(1).optional(),
    /**
     * Replication factor of the internal topics it creates (changelogs, repartition, the
     * dead-letter topic). -1 (the default) takes the broker's `default.replication.factor`,
     * as Kafka Streams does since 3.0; on a cluster that is typically 3, so that losing a
     * broker leaves every partition with a leader.
     */
    replicationFactor: z
      .number()
      .int()
      .min(-1)
      .refine((n) => n !== 0, 'write -1 for the broker default, or 1 or more')
      .default(-1),
    /**
     * Standby replicas (Kafka Streams' `num.standby.replicas`): how many other instances keep
     * a warm copy of each stateful task's stores, read from its changelog (committed records
     * only) and checkpointed on their disk. When the task's instance fails or leaves, the
     * group gives the task to a caught-up copy, which restores only the tail of the
     * changelog. Each copy costs its instance the disk and the reads of the task's stores.
     * Needs `storeBackend: leveldb`. Default 0.
     */
    numStandbyReplicas: z.number().int().min(0).max(10).default(0),
    /**
     * A copy of a task's state at most this many changelog records behind its end is caught
     * up: a task that must move goes to such an instance, balance allowing (Kafka Streams'
     * `acceptable.recovery.lag`). Default 10 000.
     */
    acceptableRecoveryLag: z.number().int().min(0).default(10_000),
    /**
     * Where this instance answers interactive queries, `host:port` as other instances and
     * clients reach it (Kafka Streams' `application.server`); it is advertised to the group,
     * so every instance knows which one holds which key. `millrace run` sets it to its HTTP
     * server's address when unset. Default: none (the instance serves no queries).
     */
    applicationServer: z
      .string()
      .regex(/^[^:\s/]+:\d+$/, 'write host:port, e.g. 10.0.0.5:9464')
      .optional(),
    clientId: z.string().min(1).optional(),
    /**
     * Stream threads of the instance (Kafka Streams' `num.stream.threads`): each a worker
     * thread with its own consumer in the group, its own tasks, stores and transactional id,
     * so an instance uses as many cores. Default 1 (no worker: the instance runs in the
     * process's main thread). More than one needs the topology as a module each thread can
     * import: `millrace run` does that (`--num-stream-threads`); from code, see
     * runtime/threads.ts.
     */
    numStreamThreads: z.number().int().min(1).max(64).default(1),
    /** Structured logs (one JSON object a line on stderr) at or above this level. */
    logLevel: z.enum(['error', 'warn', 'info', 'debug']).default('warn'),
  })
  .strict();

export type StreamsConfigInput = z.input<typeof streamsConfigSchema>;

export interface StreamsConfig extends Omit<
  z.output<typeof streamsConfigSchema>,
  'commitInterval' | 'deadLetterTopic' | 'clientId'
> {
  commitInterval: number;
  deadLetterTopic: string;
  clientId: string;
}

const ENV_KEYS: Array<[keyof StreamsConfigInput, (v: string) => unknown]> = [
  ['applicationId', String],
  ['bootstrapServers', String],
  ['processingGuarantee', String],
  ['commitInterval', String],
  ['transactionTimeout', String],
  ['stateDir', String],
  ['storeBackend', String],
  ['maxBufferedRecords', Number],
  ['commitWhenCaughtUp', parseBoolean],
  ['cacheMaxEntries', Number],
  ['commitFailureTimeout', String],
  ['fetchMaxBytes', Number],
  ['maxPartitionFetchBytes', Number],
  ['restoreFetchMaxBytes', Number],
  ['leveldbBlockCacheBytes', Number],
  ['leveldbWriteBufferBytes', Number],
  ['repartitionPurgeInterval', String],
  ['sessionTimeout', String],
  ['deadLetterTopic', String],
  ['replicationFactor', Number],
  ['numStandbyReplicas', Number],
  ['acceptableRecoveryLag', Number],
  ['applicationServer', String],
  ['logLevel', String],
  ['numStreamThreads', Number],
];

/** "true" / "false" as booleans; anything else is left for the schema to name. */
function parseBoolean(v: string): boolean | string {
  return v === 'true' ? true : v === 'false' ? false : v;
}

function envName(key: string): string {
  return `MILLRACE_${key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;
}

/** `MILLRACE_*` variables that map to config fields (e.g. `MILLRACE_COMMIT_INTERVAL`). */
export function configFromEnv(env: NodeJS.ProcessEnv = process.env): Partial<StreamsConfigInput> {
  const out: Record<string, unknown> = {};
  for (const [key, parse] of ENV_KEYS) {
    const v = env[envName(key)];
    if (v !== undefined && v !== '') out[key] = parse(v);
  }
  return out as Partial<StreamsConfigInput>;
}

/**
 * The settings in a config file: YAML (`.yaml`, `.yml`) or JSON (`.json`), a mapping of
 * the fields above by their names in code (`commitInterval: 500ms`). Every key and value
 * is checked here, so an error names the file and the field; the result is one layer for
 * `resolveConfig`.
 *
 * @example resolveConfig(configFromFile('millrace.yaml'), configFromEnv(), { applicationId: 'clicks' })
 * @throws ConfigError
 */
export function configFromFile(file: string): Partial<StreamsConfigInput> {
  const data = readConfigFile(file);
  const checked = streamsConfigSchema.partial().safeParse(data);
  if (!checked.success)
    throw new ConfigError(`config file ${file}: ${describeIssues(checked.error, data)}`);
  return data as Partial<StreamsConfigInput>;
}

function readConfigFile(file: string): Record<string, unknown> {
  const ext = path.extname(file).toLowerCase();
  if (!['.yaml', '.yml', '.json'].includes(ext))
    throw new ConfigError(
      `config file ${file}: name it .yaml, .yml or .json (its extension says how to read it)`,
    );
  let data: unknown;
  try {
    const text = fs.readFileSync(file, 'utf8');
    data = ext === '.json' ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new ConfigError(`cannot read config file ${file}: ${(err as Error).message}`, err);
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data))
    throw new ConfigError(
      `config file ${file}: write a mapping of settings, e.g. "commitInterval: 500ms"`,
    );
  return data as Record<string, unknown>;
}

/** Validates and freezes; layers later in the list win. */
export function resolveConfig(
  ...layers: Array<Partial<StreamsConfigInput> | undefined>
): Readonly<StreamsConfig> {
  const merged = Object.assign({}, ...layers.filter(Boolean));
  const parsed = streamsConfigSchema.safeParse(merged);
  if (!parsed.success)
    throw new ConfigError(`invalid streams config: ${describeIssues(parsed.error, merged)}`);
  const c = parsed.data;
  if (c.numStandbyReplicas > 0 && c.storeBackend === 'memory')
    throw new ConfigError(
      `invalid streams config: numStandbyReplicas: standby replicas keep their copies on disk; set storeBackend to leveldb, or numStandbyReplicas to 0`,
    );
  const commitInterval =
    c.commitInterval ?? (c.processingGuarantee === 'exactly_once' ? 100 : 1000);
  return Object.freeze({
    ...c,
    commitInterval,
    deadLetterTopic: c.deadLetterTopic ?? `${c.applicationId}-dlq`,
    clientId: c.clientId ?? c.applicationId,
  });
}

function describeIssues(error: z.ZodError, input: Record<string, unknown>): string {
  const lines = error.issues.map((i) => {
    const field = i.path.join('.') || '(config)';
    if (i.code === 'unrecognized_keys')
      return `unknown setting(s) ${i.keys.join(', ')}: remove them or check the spelling`;
    // zod leaves `input` out of issues: a wrong type (e.g. NaN from the environment) is not a missing field.
    if (i.code === 'invalid_type' && input[String(i.path[0])] === undefined)
      return `${field} is required (or set ${envName(String(i.path[0]))})`;
    return i.message.startsWith(`${field}:`) ? i.message : `${field}: ${i.message}`;
  });
  return lines.join('; ');
}
