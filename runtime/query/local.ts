/**
 * Reads of the copies of a store's partitions this instance holds: its active tasks, and,
 * for a client that accepts stale data, its standby tasks and tasks still restoring. One
 * partition at a time; the service (service.ts) decides which partitions are asked here
 * and merges pages across partitions.
 *
 * An active task is fresh when it runs and the latest assignment gives it to this instance
 * while the instance is not between a rejoin and its next assignment. Anything else is
 * stale: refused with 503 unless the client asked for stale data.
 */
import type {
  ReadOnlyKeyValueStore,
  ReadOnlySessionStore,
  ReadOnlyWindowStore,
  Serde,
  StoreKind,
} from '../../state/api.js';
import { compareEntries, type Cursor } from './codec.js';
import { unavailable } from './errors.js';
import type { Entry, ServedBy, StorePosition, WindowEntry } from './types.js';

/** A store as queries see it. */
export interface QueryStore {
  name: string;
  kind: StoreKind;
  keySerdeName: string;
  valueSerdeName: string;
  keySerde: Serde<unknown>;
  subtopology: number;
  partitions: number;
  windowSizeMs: number | null;
  /** A global store (one partition, as queries see it, held whole by every instance). */
  global?: boolean;
}

/** A task's store as this instance holds it (an active task's, or a standby's). */
interface HeldStore {
  name: string;
  changelogTopic?: string;
  store: unknown;
}

/** What the instance holds: its active and standby tasks (read-only views). */
export interface ReplicaSource {
  endpoint(): string | null;
  activeTasks(): Iterable<{
    id: string;
    state: string;
    engine: { stores: readonly HeldStore[] };
    stats: { restoreRemaining: number };
    changelogPositions: ReadonlyMap<string, number>;
  }>;
  standbyTasks(): Iterable<{
    id: string;
    state: string;
    engine: { stores: readonly HeldStore[] };
    lag: number | undefined;
    stores: ReadonlyArray<{ name: string; position: number; end: number | undefined }>;
  }>;
  /** The active task `id` runs, is assigned here in the latest generation, and no rebalance is under way. */
  fresh(taskId: string): boolean;
  /** A global store by name, once the instance has read it (undefined before). */
  globalStore?(name: string): unknown;
}

/** A copy chosen to answer for one partition. */
export interface Copy {
  store: unknown;
  servedBy: ServedBy;
  positions: StorePosition[];
}

const taskId = (s: QueryStore, partition: number) => `${s.subtopology}_${partition}`;

/**
 * The copy of `store`'s `partition` held here that may answer: the active task when fresh,
 * or with `stale` the active task however it stands, else a standby. Undefined when this
 * instance holds none that may answer (the service then asks the owner). Throws 503 when the
 * active task is here but not fresh and `stale` is false.
 */
export function localCopy(
  src: ReplicaSource,
  store: QueryStore,
  partition: number,
  stale: boolean,
): Copy | undefined {
  return (
    activeCopy(src, store, partition, stale) ??
    (stale ? standbyCopy(src, store, partition) : undefined)
  );
}

/** The active task's copy when it is here (fresh, or with `stale` however it stands); throws 503 when here but unavailable. */
export function activeCopy(
  src: ReplicaSource,
  store: QueryStore,
  partition: number,
  stale: boolean,
): Copy | undefined {
  if (store.global) return globalCopy(src, store);
  const id = taskId(store, partition);
  const endpoint = src.endpoint();
  for (const t of src.activeTasks()) {
    if (t.id !== id) continue;
    const held = t.engine.stores.find((s) => s.name === store.name);
    if (!held) return undefined;
    const fresh = src.fresh(id);
    const readable = t.state === 'running' || t.state === 'restoring';
    if (!fresh && !(stale && readable)) {
      if (t.state === 'restoring')
        throw unavailable(
          'RESTORING',
          `task ${id} (partition ${partition} of ${store.name}) is restoring its state here: ${t.stats.restoreRemaining} records left`,
          endpoint ?? undefined,
        );
      throw unavailable(
        'REBALANCING',
        `the instance holding partition ${partition} of ${store.name} is rebalancing`,
        endpoint ?? undefined,
      );
    }
    return {
      store: held.store,
      servedBy: {
        partition,
        task: id,
        endpoint,
        role: 'active',
        state: t.state,
        stale: !fresh,
        lag: fresh ? 0 : t.state === 'restoring' ? t.stats.restoreRemaining : null,
      },
      positions: t.engine.stores
        .filter((s) => s.changelogTopic)
        .map((s) => ({
          store: s.name,
          changelogTopic: s.changelogTopic!,
          position: t.changelogPositions.get(s.name) ?? null,
          end: null,
        })),
    };
  }
  return undefined;
}

/**
 * A global store: this instance's own copy, whole (every instance reads the table's topic
 * to its end before its tasks start, and keeps reading). 503 until it has been read.
 */
function globalCopy(src: ReplicaSource, store: QueryStore): Copy {
  const held = src.globalStore?.(store.name);
  if (held === undefined)
    throw unavailable(
      'RESTORING',
      `the global store ${store.name} is not read yet on this instance`,
      src.endpoint() ?? undefined,
    );
  return {
    store: held,
    servedBy: {
      partition: 0,
      task: 'global',
      endpoint: src.endpoint(),
      role: 'active',
      state: 'running',
      stale: false,
      lag: null,
    },
    positions: [],
  };
}

/** A standby's copy, when one is here (always stale). */
export function standbyCopy(
  src: ReplicaSource,
  store: QueryStore,
  partition: number,
): Copy | undefined {
  const id = taskId(store, partition);
  const endpoint = src.endpoint();
  for (const s of src.standbyTasks()) {
    if (s.id !== id || s.state !== 'running') continue;
    const held = s.engine.stores.find((x) => x.name === store.name);
    if (!held) return undefined;
    return {
      store: held.store,
      servedBy: {
        partition,
        task: id,
        endpoint,
        role: 'standby',
        state: s.state,
        stale: true,
        lag: s.lag ?? null,
      },
      positions: s.stores.map((x) => ({
        store: x.name,
        changelogTopic: s.engine.stores.find((h) => h.name === x.name)?.changelogTopic ?? '',
        position: x.position,
        end: x.end ?? null,
      })),
    };
  }
  return undefined;
}

/** A page of one partition: entries after the cursor, at most limit + 1 (the extra says there is more). */
export interface PartitionPage<E> {
  entries: E[];
  servedBy: ServedBy;
}

const hex = (b: Buffer) => b.toString('hex');

/** Key-value entries of one partition in [from, to] (serialized bounds), after `after`. */
export async function keyValuePage(
  q: QueryStore,
  copy: Copy,
  o: { fromHex?: string; toHex?: string; after?: Cursor; limit: number },
): Promise<PartitionPage<Entry>> {
  const kv = copy.store as ReadOnlyKeyValueStore<unknown, unknown>;
  const partition = copy.servedBy.partition;
  let low = o.fromHex;
  if (o.after && (low === undefined || o.after.keyHex > low)) low = o.after.keyHex;
  const key = (h: string | undefined) =>
    h === undefined ? undefined : q.keySerde.deserialize(Buffer.from(h, 'hex'));
  const entries: Entry[] = [];
  for await (const e of kv.range(key(low), key(o.toHex))) {
    const keyHex = hex(q.keySerde.serialize(e.key));
    if (o.after && compareEntries({ partition, keyHex }, o.after) <= 0) continue;
    entries.push({ key: e.key, keyHex, value: e.value, partition });
    if (entries.length > o.limit) break;
  }
  return { entries, servedBy: copy.servedBy };
}

/** Windows (or sessions) of one partition with times in [from, to], of one key or all, after `after`. */
export async function windowPage(
  q: QueryStore,
  copy: Copy,
  o: { key?: unknown; from: number; to: number; after?: Cursor; limit: number },
): Promise<PartitionPage<WindowEntry>> {
  const partition = copy.servedBy.partition;
  const lo = Math.max(o.from, o.after?.time ?? -Infinity);
  const entries: WindowEntry[] = [];
  const push = (key: unknown, start: number, end: number | null, time: number, value: unknown) => {
    const keyHex = hex(q.keySerde.serialize(key));
    if (o.after && compareEntries({ partition, keyHex, time }, o.after) <= 0) return false;
    entries.push({ key, keyHex, windowStart: start, windowEnd: end, value, partition });
    return entries.length > o.limit;
  };
  const size = q.windowSizeMs;
  if (q.kind === 'session') {
    const ss = copy.store as ReadOnlySessionStore<unknown, unknown>;
    const rows = o.key === undefined ? ss.fetchAll(lo, o.to) : ss.findSessions(o.key, lo, o.to);
    for await (const s of rows) if (push(s.key, s.start, s.end, s.end, s.value)) break;
  } else {
    const ws = copy.store as ReadOnlyWindowStore<unknown, unknown>;
    const rows = o.key === undefined ? ws.fetchAll(lo, o.to) : ws.fetchRange(o.key, lo, o.to);
    for await (const w of rows) {
      const end = size === null ? null : w.windowStart + size;
      if (push('key' in w ? w.key : o.key, w.windowStart, end, w.windowStart, w.value)) break;
    }
  }
  return { entries, servedBy: copy.servedBy };
}
