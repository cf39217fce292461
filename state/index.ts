/**
 * millrace state stores: key-value and window stores on LevelDB or in memory, each a stack
 * of wrappers — metered (typed) → caching → change-logging → bytes backend.
 *
 * ```ts
 * const counts = await openKeyValueStore(
 *   { name: 'counts', kind: 'keyValue', keySerde: stringSerde, valueSerde: int64Serde, logged: true, cache: true },
 *   { applicationId: 'app', taskId: '0_1', stateDir: '/var/lib/millrace', backend: 'leveldb' },
 * );
 * counts.put('AAPL', (counts.get('AAPL') ?? 0) + 1); // synchronous
 * await counts.flush();                               // at commit
 * ```
 */
import path from 'node:path';
import type { KeyValueStore, StateStore, StoreContext, StoreOptions, WindowStore } from './api.js';
import type { BytesBackend } from './backend/backend.js';
import { LevelBackend } from './backend/leveldb.js';
import { MemoryBackend } from './backend/memory.js';
import { CachingLayer } from './caching.js';
import { ChangeLoggingLayer } from './changelogging.js';
import { MeteredKeyValueStore } from './key-value-store.js';
import { SegmentedTarget } from './segments.js';
import { MeteredWindowStore } from './window-store.js';
import { WriteBuffer, type CacheLike } from './write-buffer.js';
import { taskDir } from './checkpoint.js';

export * from './api.js';
export {
  serdeByName,
  builtInSerdeNames,
  stringSerde,
  jsonSerde,
  bytesSerde,
  int64Serde,
  float64Serde,
} from './serdes.js';
export {
  readCheckpoint,
  writeCheckpoint,
  removeCheckpoint,
  wipeTaskState,
  taskDir,
} from './checkpoint.js';
export { StateStoreError } from './errors.js';

async function openBackend(name: string, ctx: StoreContext): Promise<BytesBackend> {
  if (ctx.backend === 'memory') return new MemoryBackend();
  return LevelBackend.open(path.join(taskDir(ctx.stateDir, ctx.applicationId, ctx.taskId), name));
}

function cacheFor(
  opts: StoreOptions<unknown, unknown>,
  logging: ChangeLoggingLayer,
  ctx: StoreContext,
): CacheLike {
  return opts.cache === false
    ? new WriteBuffer(logging)
    : new CachingLayer(logging, ctx.cacheMaxEntries ?? 100_000);
}

const now = () => Date.now();

export async function openKeyValueStore<K, V>(
  opts: StoreOptions<K, V>,
  ctx: StoreContext,
): Promise<KeyValueStore<K, V> & StateStore> {
  const backend = await openBackend(opts.name, ctx);
  const logging = new ChangeLoggingLayer(backend, opts.logged !== false);
  const cache = cacheFor(opts as StoreOptions<unknown, unknown>, logging, ctx);
  return new MeteredKeyValueStore(
    opts.name,
    opts.keySerde,
    opts.valueSerde,
    cache,
    logging,
    backend,
    ctx.currentTimestamp ?? now,
    ctx.metrics,
  );
}

export async function openWindowStore<K, V>(
  opts: StoreOptions<K, V>,
  ctx: StoreContext,
): Promise<WindowStore<K, V> & StateStore> {
  const backend = await openBackend(opts.name, ctx);
  const retention = opts.retentionMs ?? 86_400_000;
  const segments = new SegmentedTarget(
    backend,
    retention,
    opts.segmentMs ?? Math.max(60_000, Math.floor(retention / 2)),
  );
  await segments.recover();
  const logging = new ChangeLoggingLayer(segments, opts.logged !== false);
  const cache = cacheFor(opts as StoreOptions<unknown, unknown>, logging, ctx);
  return new MeteredWindowStore(
    opts.name,
    opts.keySerde,
    opts.valueSerde,
    cache,
    logging,
    segments,
    backend,
    ctx.currentTimestamp ?? now,
    ctx.metrics,
  );
}
