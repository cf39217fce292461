/**
 * The newest update per key since the last commit, for aggregations that emit on commit
 * (Kafka Streams' record cache in front of a KTable): many updates of a key between two
 * commits leave as one record, its latest. Bounded: past `maxKeys` the key updated least
 * recently leaves at once, as Kafka Streams evicts from a full cache.
 */
import type { StreamRecord } from '../api.js';

/** Primitive keys are their own identity; Buffers by their bytes, objects by their JSON. */
function identity(key: unknown): unknown {
  if (key === null || typeof key !== 'object') return key;
  if (Buffer.isBuffer(key)) return `b:${key.toString('base64')}`;
  return `j:${JSON.stringify(key)}`;
}

export class LatestUpdates {
  /** Insertion order is update order: the first entry is the least recently updated. */
  private readonly byKey = new Map<unknown, StreamRecord>();

  constructor(
    private readonly maxKeys: number,
    private readonly emit: (r: StreamRecord) => void,
  ) {}

  get size(): number {
    return this.byKey.size;
  }

  /** Keeps `r` as its key's newest update; emits the least recent one when full. */
  put(r: StreamRecord): void {
    const id = identity(r.key);
    this.byKey.delete(id);
    this.byKey.set(id, r);
    if (this.byKey.size <= this.maxKeys) return;
    const [oldest, record] = this.byKey.entries().next().value as [unknown, StreamRecord];
    this.byKey.delete(oldest);
    this.emit(record);
  }

  /** Emits every kept update, least recently updated first, and forgets them. */
  flush(): void {
    const records = [...this.byKey.values()];
    this.byKey.clear();
    for (const r of records) this.emit(r);
  }
}
