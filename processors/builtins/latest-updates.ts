/**
 * The newest update per key since the last commit, for aggregations that emit on commit
 * (Kafka Streams' record cache in front of a KTable): many updates of a key between two
 * commits leave as one record, its latest. Bounded: past `maxKeys` the key updated least
 * recently leaves at once, as Kafka Streams evicts from a full cache.
 *
 * Hot path (every record of an on-commit aggregation): a key already held is updated in
 * place and moved to the tail of a linked list — no Map insertion or deletion, and no
 * record object built — so the cost per update is a lookup and a few pointer moves. The
 * output record (`{...source, value}`) is built once per key and commit, when it leaves.
 */
import type { StreamRecord } from '../api.js';

/** Primitive keys are their own identity; Buffers by their bytes, objects by their JSON. */
function identity(key: unknown): unknown {
  if (key === null || typeof key !== 'object') return key;
  if (Buffer.isBuffer(key)) return `b:${key.toString('base64')}`;
  return `j:${JSON.stringify(key)}`;
}

/** A held key: the record of its newest update and the value to emit with it. */
interface Entry {
  id: unknown;
  source: StreamRecord;
  value: unknown;
  prev: Entry | undefined;
  next: Entry | undefined;
}

export class LatestUpdates {
  private readonly byKey = new Map<unknown, Entry>();
  /** Least recently updated first. */
  private head: Entry | undefined;
  private tail: Entry | undefined;

  constructor(
    private readonly maxKeys: number,
    private readonly emit: (r: StreamRecord) => void,
  ) {}

  get size(): number {
    return this.byKey.size;
  }

  /**
   * Keeps `value` as the newest update of `source`'s key (emitted as `source` with that
   * value); emits the least recently updated key when more than `maxKeys` are held.
   */
  put(source: StreamRecord, value: unknown): void {
    const id = identity(source.key);
    const held = this.byKey.get(id);
    if (held) {
      held.source = source;
      held.value = value;
      if (held !== this.tail) {
        this.unlink(held);
        this.append(held);
      }
      return;
    }
    const entry: Entry = { id, source, value, prev: undefined, next: undefined };
    this.byKey.set(id, entry);
    this.append(entry);
    if (this.byKey.size > this.maxKeys) {
      const oldest = this.head!;
      this.unlink(oldest);
      this.byKey.delete(oldest.id);
      this.emit({ ...oldest.source, value: oldest.value });
    }
  }

  /** Emits every kept update, least recently updated first, and forgets them. */
  flush(): void {
    let e = this.head;
    this.head = this.tail = undefined;
    this.byKey.clear();
    while (e) {
      const next = e.next;
      this.emit({ ...e.source, value: e.value });
      e = next;
    }
  }

  private append(e: Entry): void {
    e.prev = this.tail;
    e.next = undefined;
    if (this.tail) this.tail.next = e;
    else this.head = e;
    this.tail = e;
  }

  private unlink(e: Entry): void {
    if (e.prev) e.prev.next = e.next;
    else this.head = e.next;
    if (e.next) e.next.prev = e.prev;
    else this.tail = e.prev;
  }
}
