/**
 * Tables and the stream-table joins. `table` keeps the latest value per key of its input
 * in a key-value store (a null value deletes the key, as a tombstone does in a compacted
 * topic) and forwards each change; `global-table` does the same for a global store (every
 * instance holds all partitions; see runtime/global-tables.ts). `stream-table-join` looks
 * each stream record's key up in a table and forwards `joiner(streamValue, tableValue,
 * key)` — for every record (`left`, the table value `null` when the key is absent) or only
 * for keys the table holds (`inner`); the table's store is in the stream's task, so their
 * topics must be co-partitioned (checked at start-up). `stream-global-join` looks up a key
 * computed from the record (`keyOf`, or a field of the value) in a global table.
 */
import { z } from 'zod';
import type { KeyValueStore } from '../../state/api.js';
import type { Processor, ProcessorContext, StreamRecord } from '../api.js';
import type { ProcessorDefinition } from '../registry.js';
import { inlineFn } from './inline.js';
import {
  inlineJoin,
  isAbsent,
  storeLookup,
  storeReader,
  type StoreRead,
  type TableLookup,
} from './table-lookup.js';

/** `joiner(streamValue, tableValue, key)`: the joined record's value. */
export type ValueJoiner = (streamValue: unknown, tableValue: unknown, key: unknown) => unknown;

/** Without a joiner function (a YAML topology): both values side by side. */
const pairJoiner: ValueJoiner = (left, right) => ({ left, right });

const tableOptions = z.object({ store: z.string().min(1) }).strict();

const joinOptions = z
  .object({
    /** The table's store (written by a `table` node of this topology). */
    store: z.string().min(1),
    /** `inner`: only records whose key the table holds; `left`: every record. */
    kind: z.enum(['inner', 'left']).default('inner'),
    /** Further stores the table's lookup reads (a table derived from several). */
    reads: z.array(z.string().min(1)).optional(),
  })
  .strict();
type JoinOptions = z.infer<typeof joinOptions>;

const globalJoinOptions = z
  .object({
    /** The global table's store. */
    store: z.string().min(1),
    kind: z.enum(['inner', 'left']).default('inner'),
    /** Without a key function (a topology file): the table key is this field of the value (default: the record's key). */
    keyField: z.string().min(1).optional(),
  })
  .strict();
type GlobalJoinOptions = z.infer<typeof globalJoinOptions>;

class TableProcessor implements Processor {
  private ctx!: ProcessorContext;
  private store!: KeyValueStore<unknown, unknown>;

  constructor(private readonly storeName: string) {}

  init(ctx: ProcessorContext) {
    this.ctx = ctx;
    this.store = ctx.stores[this.storeName] as KeyValueStore<unknown, unknown>;
  }

  process(r: StreamRecord) {
    if (isAbsent(r.key)) return; // a table row needs a key (Kafka Streams drops these too)
    if (isAbsent(r.value)) {
      // A tombstone: forwarded only when the key was there (a delete of nothing changes nothing).
      if (this.store.delete(r.key) !== undefined) this.ctx.forward({ ...r, value: null });
      return;
    }
    this.store.put(r.key, r.value);
    this.ctx.forward(r);
  }
}

/** The inline parts of a stream-table join: the joiner, and how to read the table (and, global, the key). */
interface JoinParts {
  joiner: ValueJoiner;
  lookup: TableLookup;
  keyOf: (key: unknown, value: unknown) => unknown;
}

class StreamTableJoin implements Processor {
  private ctx!: ProcessorContext;
  private read!: StoreRead;

  constructor(
    private readonly type: string,
    private readonly kind: 'inner' | 'left',
    private readonly stores: readonly string[],
    private readonly parts: JoinParts,
  ) {}

  init(ctx: ProcessorContext) {
    this.ctx = ctx;
    this.read = storeReader(ctx, this.type, this.stores);
  }

  process(r: StreamRecord) {
    // As in Kafka Streams: a stream record without key or value joins nothing.
    if (isAbsent(r.key) || isAbsent(r.value)) return;
    const tableKey = this.parts.keyOf(r.key, r.value);
    const found = isAbsent(tableKey) ? undefined : this.parts.lookup(this.read, tableKey);
    if (isAbsent(found) && this.kind === 'inner') return;
    this.ctx.forward({ ...r, value: this.parts.joiner(r.value, found ?? null, r.key) });
  }
}

const ownKey = (key: unknown) => key;

/** The parts of a stream-table join node: given inline as a joiner, or `{ joiner, lookup }`. */
function tableJoinParts(o: JoinOptions, inline: unknown): JoinParts {
  if (inline === undefined)
    return { joiner: pairJoiner, lookup: storeLookup(o.store), keyOf: ownKey };
  if (typeof inline === 'function')
    return { joiner: inline as ValueJoiner, lookup: storeLookup(o.store), keyOf: ownKey };
  return { ...inlineJoin<ValueJoiner>('stream-table-join', inline, o.store), keyOf: ownKey };
}

/** The parts of a stream-global join node: `{ joiner, keyOf }` inline, or a key field (a topology file). */
function globalJoinParts(o: GlobalJoinOptions, inline: unknown): JoinParts {
  const lookup = storeLookup(o.store);
  if (inline === undefined) {
    const field = o.keyField;
    const keyOf = field
      ? (_k: unknown, v: unknown) => (v as Record<string, unknown> | null)?.[field]
      : ownKey;
    return { joiner: pairJoiner, lookup, keyOf };
  }
  const i = inline as { joiner?: unknown; keyOf?: unknown };
  return {
    joiner: inlineFn<ValueJoiner>('stream-global-join', i.joiner),
    lookup,
    keyOf: inlineFn<JoinParts['keyOf']>('stream-global-join', i.keyOf),
  };
}

const kvStore = (name: string) => ({
  name,
  kind: 'keyValue' as const,
  keySerde: 'string',
  valueSerde: 'json',
  logged: true,
  cache: true,
});

export const tables: ProcessorDefinition[] = [
  {
    type: 'table',
    description:
      'Keeps the latest value per key in a key-value store (a null value deletes); forwards each change',
    options: tableOptions,
    stores: (o: { store: string }) => [kvStore(o.store)],
    create: (o: { store: string }) => new TableProcessor(o.store),
  },
  {
    type: 'global-table',
    description:
      'Keeps the latest value per key of a global table (every instance reads all partitions; no changelog)',
    options: tableOptions,
    stores: (o: { store: string }) => [{ ...kvStore(o.store), logged: false, global: true }],
    create: (o: { store: string }) => new TableProcessor(o.store),
  },
  {
    type: 'stream-table-join',
    description:
      "Joins each record with the table's value for its key (inner: keys the table holds; left: every record)",
    options: joinOptions,
    create: (o: JoinOptions, inline) =>
      new StreamTableJoin(
        'stream-table-join',
        o.kind,
        [o.store, ...(o.reads ?? [])],
        tableJoinParts(o, inline),
      ),
  },
  {
    type: 'stream-global-join',
    description:
      "Joins each record with a global table's value for a key computed from the record (inner or left)",
    options: globalJoinOptions,
    create: (o: GlobalJoinOptions, inline) =>
      new StreamTableJoin('stream-global-join', o.kind, [o.store], globalJoinParts(o, inline)),
  },
];
