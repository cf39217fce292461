/**
 * LevelDB bytes backend (`level` v10 = classic-level 3): one database per task and store,
 * synchronous point reads with `getSync`, batched writes, ordered iterators.
 *
 * classic-level runs each async write on libuv's thread pool, so two writes issued
 * back to back may land in either order. Writes therefore go through a queue applied one
 * group at a time; writes issued while a group is landing join the next group (one
 * LevelDB batch). Until a write lands its values sit in `pending`, which `getSync`
 * consults first, so a processor reads its own writes without awaiting them.
 */
import fs from 'node:fs';
import { Level } from 'level';
import type { LevelDbMemory } from '../api.js';
import { StateStoreError } from '../errors.js';
import { byteString, type BytesBackend, type ScanRange, type WriteOp } from './backend.js';

type Db = Level<Buffer, Buffer>;

interface Group {
  ops: WriteOp[];
  keys: string[];
  clear?: { gte: Buffer; lt: Buffer };
  /** A bulk load: its keys are not in `pending`. */
  loading?: boolean;
  started: boolean;
  done: Promise<void>;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export class LevelBackend implements BytesBackend {
  private readonly pending = new Map<string, Buffer | null>();
  private readonly groups: Group[] = [];
  private failure: unknown;
  private draining = false;
  private estimate = 0;
  private counting = false;
  private countedAt = -Infinity;
  private countCostMs = 0;
  private writtenSinceCount = true;

  private constructor(
    private readonly db: Db,
    readonly location: string,
  ) {}

  /** Opens (creating if needed) the database in directory `location`, within `memory`. */
  static async open(location: string, memory: LevelDbMemory): Promise<LevelBackend> {
    fs.mkdirSync(location, { recursive: true });
    const db = new Level<Buffer, Buffer>(location, {
      keyEncoding: 'buffer',
      valueEncoding: 'buffer',
      cacheSize: memory.blockCacheBytes,
      writeBufferSize: memory.writeBufferBytes,
    });
    try {
      await db.open();
    } catch (err) {
      throw openError(location, err);
    }
    return new LevelBackend(db, location);
  }

  getSync(key: Buffer): Buffer | undefined {
    if (this.pending.size) {
      const v = this.pending.get(byteString(key));
      if (v !== undefined) return v ?? undefined;
    }
    return this.db.getSync(key);
  }

  write(ops: readonly WriteOp[]): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (!ops.length) return this.settled();
    const g = this.openGroup();
    for (const op of ops) {
      const k = op.spelling ?? byteString(op.key);
      this.pending.set(k, op.value);
      g.ops.push(op);
      g.keys.push(k);
    }
    this.writtenSinceCount = true;
    this.kick();
    return g.done;
  }

  load(ops: readonly WriteOp[]): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (!ops.length) return this.settled();
    const g = this.newGroup();
    for (const op of ops) g.ops.push(op);
    g.loading = true;
    this.writtenSinceCount = true;
    this.kick();
    return g.done;
  }

  clearRange(gte: Buffer, lt: Buffer): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    const g = this.newGroup();
    g.clear = { gte, lt };
    this.kick();
    return g.done;
  }

  settled(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    return this.groups.at(-1)?.done ?? Promise.resolve();
  }

  /** The last queued batch group if it has not started landing, else a new one. */
  private openGroup(): Group {
    const last = this.groups.at(-1);
    return last && !last.started && !last.clear && !last.loading ? last : this.newGroup();
  }

  private newGroup(): Group {
    const g = { ops: [], keys: [], started: false } as unknown as Group;
    g.done = new Promise<void>((resolve, reject) => {
      g.resolve = resolve;
      g.reject = reject;
    });
    // Callers that do not await (write-behind) learn of a failure at their next flush.
    g.done.catch(() => {});
    this.groups.push(g);
    return g;
  }

  private kick(): void {
    if (this.draining) return;
    this.draining = true;
    void this.drain();
  }

  private async drain(): Promise<void> {
    while (this.groups.length) {
      const g = this.groups[0]!;
      g.started = true;
      try {
        await this.apply(g);
        this.land(g);
        g.resolve();
      } catch (err) {
        this.failure ??= writeError(this.location, err);
        for (const rest of this.groups.splice(0)) rest.reject(this.failure);
        break;
      }
    }
    // Cleared in the same turn the queue is seen empty, so a write issued next restarts it.
    this.draining = false;
  }

  private async apply(g: Group): Promise<void> {
    if (g.clear) return this.db.clear(g.clear);
    const batch = this.db.batch();
    for (const op of g.ops) {
      if (op.value === null) batch.del(op.key);
      else batch.put(op.key, op.value);
    }
    await batch.write();
  }

  /** Forgets pending values that this group wrote and no later write replaced. */
  private land(g: Group): void {
    this.groups.shift();
    for (let i = 0; i < g.keys.length; i++) {
      const k = g.keys[i]!;
      if (this.pending.get(k) === g.ops[i]!.value) this.pending.delete(k);
    }
  }

  async *scan(range: ScanRange): AsyncIterable<[Buffer, Buffer]> {
    await this.settled();
    const opts: { gte?: Buffer; lte?: Buffer; lt?: Buffer } = {};
    if (range.gte) opts.gte = range.gte;
    if (range.lte) opts.lte = range.lte;
    if (range.lt) opts.lt = range.lt;
    for await (const entry of this.db.iterator(opts)) yield entry as [Buffer, Buffer];
  }

  /**
   * Keys counted by a background walk, so it lags behind writes (0 until the first walk
   * ends). A walk starts when asked after writes, at most every 100 ms and at most 10 % of
   * the time (walks are not free: about half a second per million keys).
   */
  approximateCount(): number {
    const since = performance.now() - this.countedAt;
    if (this.writtenSinceCount && !this.counting && since > Math.max(100, 10 * this.countCostMs))
      void this.countKeys();
    return this.estimate;
  }

  private async countKeys(): Promise<void> {
    this.counting = true;
    this.writtenSinceCount = false;
    const t0 = performance.now();
    try {
      await this.settled();
      let n = 0;
      for await (const _ of this.db.keys()) n++;
      this.estimate = n;
    } catch {
      // An estimate; the next call tries again.
    } finally {
      this.countedAt = performance.now();
      this.countCostMs = this.countedAt - t0;
      this.counting = false;
    }
  }

  async close(): Promise<void> {
    await this.settled().catch(() => {});
    if (this.db.status === 'open' || this.db.status === 'opening') await this.db.close();
  }

  async destroy(): Promise<void> {
    await this.close();
    await fs.promises.rm(this.location, { recursive: true, force: true });
  }
}

function openError(location: string, err: unknown): StateStoreError {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  if (cause?.code === 'LEVEL_LOCKED') {
    return new StateStoreError(
      `cannot open the LevelDB store at ${location}: its lock is held, by another instance or by a task of this one not closed yet; if two instances share this stateDir, give each its own`,
      { code: 'STORE_LOCKED', domain: 'user', retriable: true, cause: err },
    );
  }
  const detail = cause?.message ? `${(err as Error).message}: ${cause.message}` : String(err);
  return new StateStoreError(
    `cannot open the LevelDB store at ${location} (${detail}); if its files are damaged, delete ${location}: the store is rebuilt from its changelog`,
    { code: 'STORE_OPEN_FAILED', domain: 'external', cause: err },
  );
}

function writeError(location: string, err: unknown): StateStoreError {
  return new StateStoreError(
    `a write to the LevelDB store at ${location} failed (${(err as Error).message}); the task must close dirty and restore its state from the changelog`,
    { code: 'STORE_WRITE_FAILED', domain: 'external', retriable: false, cause: err },
  );
}
