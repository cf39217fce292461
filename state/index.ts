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
 * const records = counts.drainChangelog();            // to app-counts-changelog
 * ```
 */
import path from 'node:path';
import {
  DEFAULT_LEVELDB_MEMORY,
  type KeyValueStore,
  type LocalStateStore,
  type StoreContext,
  type SessionStore,
  type StoreOptions,
  type WindowStore,
} from './api.js';
import type { BytesBackend } from './backend/backend.js';
import { LevelBackend } from './backend/leveldb.js';
import { MemoryBackend } from './backend/memory.js';
import { CachingLayer } from './caching.js';
import { ChangeLoggingLayer, type LoggedTarget } from './changelogging.js';
import { taskDir } from './checkpoint.js';
import { StateStoreError } from './errors.js';
import { MeteredKeyValueStore } from './key-value-store.js';
import type { WriteLayer } from './layer.js';
import type { StoreStack } from './metered.js';
import { SegmentedTarget } from './segments.js';
import { MeteredSessionStore } from './session-store.js';
import { MeteredWindowStore } from './window-store.js';
import { WriteThrough } from './write-through.js';

export * from './api.js';
export {
  serdeByName,
  builtInSerdeNames,
  registerSerde,
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
  storeDir,
  CHECKPOINT_FORMAT,
} from './checkpoint.js';
export { StateStoreError, type ErrorDomain } from './errors.js';

/** Default window retention: one day. */
const DEFAULT_RETENTION_MS = 86_400_000;

/**
 * Opens a key-value store for one task: LevelDB at `<stateDir>/<app>/<task>/<name>` (created
 * if absent; its data survive a reopen) or memory. Close it with the task.
 */
export async function openKeyValueStore<K, V>(
  opts: StoreOptions<K, V>,
  ctx: StoreContext,
): Promise<KeyValueStore<K, V> & LocalStateStore> {
  const backend = await openBackend(opts.name, ctx);
  return new MeteredKeyValueStore(
    opts.name,
    opts.keySerde,
    opts.valueSerde,
    stack(opts, ctx, backend, backend),
  );
}

/**
 * Opens a window store for one task (see `openKeyValueStore` for where it lives). Windows
 * are kept `retentionMs` (default one day) back from the newest window start seen.
 */
export async function openWindowStore<K, V>(
  opts: StoreOptions<K, V>,
  ctx: StoreContext,
): Promise<WindowStore<K, V> & LocalStateStore> {
  const { segments, backend } = await openSegmented(opts, ctx);
  const s = stack(opts, ctx, segments, backend);
  return new MeteredWindowStore(opts.name, opts.keySerde, opts.valueSerde, segments, s);
}

/**
 * Opens a session store for one task (see `openKeyValueStore` for where it lives).
 * Sessions are kept `retentionMs` (default one day) back from the newest session end seen.
 */
export async function openSessionStore<K, V>(
  opts: StoreOptions<K, V>,
  ctx: StoreContext,
): Promise<SessionStore<K, V> & LocalStateStore> {
  const { segments, backend } = await openSegmented(opts, ctx);
  const s = stack(opts, ctx, segments, backend);
  return new MeteredSessionStore(opts.name, opts.keySerde, opts.valueSerde, segments, s);
}

async function openSegmented<K, V>(
  opts: StoreOptions<K, V>,
  ctx: StoreContext,
): Promise<{ segments: SegmentedTarget; backend: BytesBackend }> {
  const retention = positive(opts, 'retentionMs', opts.retentionMs ?? DEFAULT_RETENTION_MS);
  const segmentMs = positive(opts, 'segmentMs', opts.segmentMs ?? Math.max(60_000, retention / 2));
  const backend = await openBackend(opts.name, ctx);
  const segments = new SegmentedTarget(backend, retention, Math.floor(segmentMs));
  try {
    await segments.recover();
  } catch (err) {
    await backend.close().catch(() => {});
    throw err;
  }
  return { segments, backend };
}

function openBackend(name: string, ctx: StoreContext): Promise<BytesBackend> {
  if (ctx.backend === 'memory') return Promise.resolve(new MemoryBackend());
  return LevelBackend.open(storeLocation(ctx, name), ctx.leveldb ?? DEFAULT_LEVELDB_MEMORY);
}

function storeLocation(ctx: StoreContext, name: string): string {
  return path.join(taskDir(ctx.stateDir, ctx.applicationId, ctx.taskId), name);
}

function stack(
  opts: StoreOptions<unknown, unknown>,
  ctx: StoreContext,
  target: LoggedTarget,
  backend: BytesBackend,
): StoreStack {
  const logging = new ChangeLoggingLayer(target, opts.logged !== false);
  const layer: WriteLayer =
    opts.cache === false
      ? new WriteThrough(logging)
      : new CachingLayer(logging, ctx.cacheMaxEntries ?? 100_000);
  return {
    layer,
    logging,
    backend,
    metrics: ctx.metrics,
    timestamp: ctx.currentTimestamp ?? Date.now,
  };
}

function positive(opts: StoreOptions<unknown, unknown>, field: string, value: number): number {
  if (Number.isFinite(value) && value > 0) return value;
  throw new StateStoreError(
    `${opts.kind} store "${opts.name}": ${field} must be a positive number of milliseconds, got ${value}`,
    { code: 'STORE_BAD_OPTIONS', domain: 'user' },
  );
}
