/**
 * What interactive queries answer, on the wire (JSON) and in `QueryClient`. Every answer
 * says which copy served each partition and whether it was fresh: `stale` is true only when
 * the client asked for stale data (`stale=ok`) and got it from a standby, a task still
 * restoring, or a task of an instance that was rebalancing.
 */

/** Which copy of a partition's state answered. */
export interface ServedBy {
  partition: number;
  /** `<subtopology>_<partition>`. */
  task: string;
  /** The instance (`host:port`), or null when it advertises none. */
  endpoint: string | null;
  /** `active` (the task that processes the partition) or `standby` (a warm copy). */
  role: 'active' | 'standby';
  /** The task's state: `running`, `restoring` (active) or `running` (standby). */
  state: string;
  /** Not as fresh as the active running task (only ever given with `stale=ok`). */
  stale: boolean;
  /** Changelog records the copy is behind the end (0 for a running active task; null: unknown). */
  lag: number | null;
}

/** A key-value entry. `keyHex` is the serialized key (the order of ranges and pages). */
export interface Entry<K = unknown, V = unknown> {
  key: K;
  keyHex: string;
  value: V;
  partition: number;
}

/** One window of a key (or one session: `windowStart`/`windowEnd` its start and end). */
export interface WindowEntry<K = unknown, V = unknown> {
  key: K;
  keyHex: string;
  windowStart: number;
  /** End of the window (exclusive) when the store knows its size; a session's end (inclusive). */
  windowEnd: number | null;
  value: V;
  partition: number;
}

/** The answer to a key lookup. */
export interface KeyAnswer<K = unknown, V = unknown> {
  store: string;
  key: K;
  partition: number;
  found: boolean;
  /** The value, or null when the key is absent. */
  value: V | null;
  stale: boolean;
  servedBy: ServedBy;
}

/** A page of a range, of all entries, or of windows. `next` fetches the following page. */
export interface PageAnswer<E> {
  store: string;
  results: E[];
  /** Pass as `cursor` for the next page; null on the last page. */
  next: string | null;
  stale: boolean;
  /** The copy that served each partition read. */
  servedBy: ServedBy[];
}

/** One logged store of one partition: how far its changelog was applied. */
export interface StorePosition {
  store: string;
  changelogTopic: string;
  /** Next changelog offset the copy's state reflects (committed by the active task). */
  position: number | null;
  /** The changelog partition's end as last seen (null: unknown). */
  end: number | null;
}

/** Freshness of every partition of a store: which copy holds it and how far it is. */
export interface FreshnessAnswer {
  store: string;
  partitions: Array<ServedBy & { positions: StorePosition[] }>;
}

/** A store instances can be asked about. */
export interface StoreInfo {
  name: string;
  kind: 'keyValue' | 'window' | 'session';
  keySerde: string;
  valueSerde: string;
  partitions: number;
  /** Window stores: the window size in ms, when known. */
  windowSizeMs: number | null;
  /** A global store: every instance holds it whole and answers from its own copy. */
  global?: boolean;
}

/** Every member of the group with its endpoint and tasks, as the latest assignment said. */
export interface GroupAnswer {
  applicationId: string;
  /** This instance's endpoint. */
  endpoint: string | null;
  generation: number | null;
  /** True while this instance rebalances (answers may then be refused with 503). */
  rebalancing: boolean;
  stores: StoreInfo[];
  members: Array<{ endpoint: string | null; active: string[]; standby: string[] }>;
}

/** The body of an error answer (4xx, 5xx). */
export interface QueryErrorBody {
  error: {
    /** e.g. REBALANCING, RESTORING, NOT_OWNER, OWNER_UNREACHABLE, UNKNOWN_STORE, BAD_KEY. */
    code: string;
    message: string;
    /** Asking again later may succeed (the answer also has Retry-After). */
    retriable: boolean;
    retryAfterMs?: number;
    /** The instance that holds the partition, when known. */
    endpoint?: string;
  };
}
