/**
 * A hand-written count-by-key task for exercising the Kafka runtime through its task
 * port, independent of the topology layer: counts records per key in a small store
 * with a changelog, emits `key → count` after every record, keeps a checkpoint file.
 * The runtime under test (group membership, restore, transactions, fencing) is real.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { ChangelogRecord, RestoreRecord, StateStore } from '../../state/api.js';
import type { AppTopology } from '../../runtime/app.js';
import type { OutgoingRecord } from '../../runtime/producers.js';
import type { CheckpointIO } from '../../runtime/stream-task.js';
import type { CommitBatch, RawRecord, TaskEngine, TaskStore } from '../../runtime/task-port.js';

/**
 * Writes `file` through a temporary file and a rename: the tests SIGKILL instances at any
 * moment, and a file written in place can be left torn (empty or half-written), which the
 * restarted instance cannot parse: a fault of this harness, not of the runtime under test.
 */
function writeAtomically(file: string, text: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
}

class CountStore implements StateStore {
  readonly kind = 'keyValue' as const;
  readonly counts = new Map<string, number>();
  private dirty = new Map<string, number>();
  private log: ChangelogRecord[] = [];

  constructor(
    readonly name: string,
    private readonly file: string,
  ) {
    if (fs.existsSync(file))
      for (const [k, v] of Object.entries(
        JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, number>,
      ))
        this.counts.set(k, v);
  }

  increment(key: string): number {
    const n = (this.dirty.get(key) ?? this.counts.get(key) ?? 0) + 1;
    this.dirty.set(key, n);
    return n;
  }

  async flush(): Promise<void> {
    for (const [k, v] of this.dirty) {
      this.counts.set(k, v);
      this.log.push({ key: Buffer.from(k), value: Buffer.from(String(v)), timestamp: Date.now() });
    }
    this.dirty.clear();
    writeAtomically(this.file, JSON.stringify(Object.fromEntries(this.counts)));
  }

  drainChangelog(): ChangelogRecord[] {
    const out = this.log;
    this.log = [];
    return out;
  }

  async restore(records: readonly RestoreRecord[]): Promise<void> {
    for (const r of records) {
      if (r.value === null) this.counts.delete(r.key.toString());
      else this.counts.set(r.key.toString(), Number(r.value.toString()));
    }
    writeAtomically(this.file, JSON.stringify(Object.fromEntries(this.counts)));
  }

  discardUncommitted(): void {
    this.dirty.clear();
    this.log = [];
  }

  async close(): Promise<void> {}
}

class CountEngine implements TaskEngine {
  readonly stores: TaskStore[];
  private out: OutgoingRecord[] = [];
  /** Next offset to consume per `topic:partition` since the last commit. */
  private consumed = new Map<string, { topic: string; partition: number; offset: number }>();

  constructor(
    readonly taskId: string,
    private readonly store: CountStore,
    changelogTopic: string,
    private readonly output: string,
    private readonly dlq: string,
  ) {
    this.stores = [{ name: store.name, changelogTopic, store }];
  }

  async init(): Promise<void> {}

  process(r: RawRecord): void {
    this.consumed.set(`${r.topic}:${r.partition}`, {
      topic: r.topic,
      partition: r.partition,
      offset: r.offset + 1,
    });
    if (!r.key || r.value?.toString() === 'poison') {
      this.out.push({
        topic: this.dlq,
        key: r.key,
        value: r.value,
        timestamp: r.timestamp,
        headers: {
          'millrace.reason': 'poison',
          'millrace.source': `${r.topic}:${r.partition}:${r.offset}`,
        },
      });
      return;
    }
    const key = r.key.toString();
    const n = this.store.increment(key);
    this.out.push({
      topic: this.output,
      key: r.key,
      value: Buffer.from(String(n)),
      timestamp: r.timestamp,
    });
  }

  punctuateWallClock(): void {}

  async prepareCommit(): Promise<CommitBatch> {
    await this.store.flush();
    if (this.out.length) dieAfterStoreWrite();
    const records = this.out;
    this.out = [];
    const offsets = [...this.consumed.values()];
    this.consumed = new Map();
    return {
      records,
      offsets,
      changelogs: [
        {
          store: this.store.name,
          topic: this.stores[0]!.changelogTopic!,
          records: this.store.drainChangelog(),
        },
      ],
    };
  }

  async close(): Promise<void> {}
}

/**
 * Fault injection for the crash tests: with KILL_AT_FLUSH=n the process SIGKILLs itself
 * in its n-th commit that carries records, after the store wrote its new counts locally
 * and before anything was sent: local state is then ahead of the changelog and the outputs.
 */
let flushesWithRecords = 0;
function dieAfterStoreWrite(): void {
  const n = Number(process.env.KILL_AT_FLUSH ?? 0);
  if (n > 0 && ++flushesWithRecords === n) process.kill(process.pid, 'SIGKILL');
}

export function countTopology(input: string, output: string, stateDir: string): AppTopology {
  const dir = (app: string, task: string) => path.join(stateDir, app, task);
  return {
    subtopologies: () => [{ id: 0, sources: [input], internalSources: [] }],
    internalTopics: (app) => [
      { name: `${app}-counts-changelog`, subtopology: 0, config: { 'cleanup.policy': 'compact' } },
    ],
    outputTopics: () => [output],
    createEngine: async (taskId, ctx) =>
      new CountEngine(
        taskId,
        new CountStore('counts', path.join(dir(ctx.config.applicationId, taskId), 'counts.json')),
        `${ctx.config.applicationId}-counts-changelog`,
        output,
        ctx.config.deadLetterTopic,
      ),
    checkpoint: (taskId, ctx): CheckpointIO => {
      const d = dir(ctx.config.applicationId, taskId);
      const f = path.join(d, '.checkpoint');
      return {
        read: async () =>
          fs.existsSync(f)
            ? new Map(
                Object.entries(JSON.parse(fs.readFileSync(f, 'utf8')) as Record<string, number>),
              )
            : undefined,
        write: async (m) => {
          writeAtomically(f, JSON.stringify(Object.fromEntries(m)));
        },
        remove: async () => fs.rmSync(f, { force: true }),
        wipe: async () => fs.rmSync(d, { recursive: true, force: true }),
      };
    },
  };
}
