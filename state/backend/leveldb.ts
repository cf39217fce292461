/**
 * LevelDB bytes backend (`level`, i.e. classic-level): one database per task and store,
 * synchronous point reads with `getSync`, batched writes, ordered iterators.
 */
import fs from 'node:fs';
import { Level } from 'level';
import { StateStoreError } from '../errors.js';
import type { BytesBackend, ScanRange, WriteOp } from './backend.js';

type Db = Level<Buffer, Buffer>;

export class LevelBackend implements BytesBackend {
  private countCache: { n: number; at: number } | undefined;

  private constructor(
    private readonly db: Db,
    readonly location: string,
  ) {}

  static async open(location: string): Promise<LevelBackend> {
    fs.mkdirSync(location, { recursive: true });
    const db = new Level<Buffer, Buffer>(location, {
      keyEncoding: 'buffer',
      valueEncoding: 'buffer',
    });
    try {
      await db.open();
    } catch (err) {
      throw new StateStoreError(
        `cannot open the LevelDB store at ${location}: ${(err as Error).message}; if another instance uses this state directory, give each instance its own stateDir`,
        {
          code: 'STORE_OPEN_FAILED',
          domain: 'user',
          cause: err,
        },
      );
    }
    return new LevelBackend(db, location);
  }

  getSync(key: Buffer): Buffer | undefined {
    return this.db.getSync(key) ?? undefined;
  }

  async write(ops: readonly WriteOp[]): Promise<void> {
    if (!ops.length) return;
    const batch = this.db.batch();
    for (const op of ops) {
      if (op.value === null) batch.del(op.key);
      else batch.put(op.key, op.value);
    }
    await batch.write();
    this.countCache = undefined;
  }

  async *scan(range: ScanRange): AsyncIterable<[Buffer, Buffer]> {
    const opts: Record<string, Buffer> = {};
    if (range.gte) opts.gte = range.gte;
    if (range.lte) opts.lte = range.lte;
    if (range.lt) opts.lt = range.lt;
    for await (const entry of this.db.iterator(opts)) yield entry as [Buffer, Buffer];
  }

  async clearRange(gte: Buffer, lt: Buffer): Promise<void> {
    await this.db.clear({ gte, lt });
    this.countCache = undefined;
  }

  async approximateCount(): Promise<number> {
    if (this.countCache && Date.now() - this.countCache.at < 5000) return this.countCache.n;
    let n = 0;
    for await (const _ of this.db.keys()) n++;
    this.countCache = { n, at: Date.now() };
    return n;
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}
