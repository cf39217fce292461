/**
 * Tables and the stream-table join. `table` keeps the latest value per key of its input
 * in a key-value store (a null value deletes the key, as a tombstone does in a compacted
 * topic) and forwards each change; `stream-table-join` looks each stream record's key up
 * in that store and forwards `joiner(streamValue, tableValue, key)` — for every record
 * (`left`, the table value `null` when the key is absent) or only for keys the table
 * holds (`inner`). The join reads the store the table writes, so both are in one
 * sub-topology and their source topics must be co-partitioned (checked at start-up).
 */
import { z } from 'zod';
import type { KeyValueStore } from '../../state/api.js';
import type { Processor, ProcessorContext, StreamRecord } from '../api.js';
import type { ProcessorDefinition } from '../registry.js';

/** `joiner(streamValue, tableValue, key)`: the joined record's value. */
export type ValueJoiner = (streamValue: unknown, tableValue: unknown, key: unknown) => unknown;

/** Without a joiner function (a YAML topology): both values side by side. */
const pairJoiner: ValueJoiner = (left, right) => ({ left, right });

const isAbsent = (x: unknown) => x === null || x === undefined;

const tableOptions = z.object({ store: z.string().min(1) }).strict();

const joinOptions = z
  .object({
    /** The table's store (written by a `table` node of this topology). */
    store: z.string().min(1),
    /** `inner`: only records whose key the table holds; `left`: every record. */
    kind: z.enum(['inner', 'left']).default('inner'),
  })
  .strict();
type JoinOptions = z.infer<typeof joinOptions>;

class TableProcessor implements Processor {
  private ctx!: ProcessorContext;
  private store!: KeyValueStore<unknown, unknown>;

  constructor(private readonly storeName: string) {}

  init(ctx: ProcessorContext) {
    this.ctx = ctx;
    this.store = (ctx.stores as Record<string, unknown>)[this.storeName] as KeyValueStore<
      unknown,
      unknown
    >;
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

class StreamTableJoin implements Processor {
  private store!: KeyValueStore<unknown, unknown>;
  private ctx!: ProcessorContext;

  constructor(
    private readonly o: JoinOptions,
    private readonly joiner: ValueJoiner,
  ) {}

  init(ctx: ProcessorContext) {
    this.ctx = ctx;
    const store = (ctx.stores as Record<string, unknown>)[this.o.store];
    if (!store)
      throw new Error(
        `stream-table-join "${ctx.processorName}": store "${this.o.store}" is not among the node's stores; list it in the node's stores (the table node that writes it declares it)`,
      );
    this.store = store as KeyValueStore<unknown, unknown>;
  }

  process(r: StreamRecord) {
    // As in Kafka Streams: a stream record without key or value joins nothing.
    if (isAbsent(r.key) || isAbsent(r.value)) return;
    const found = this.store.get(r.key);
    if (found === undefined && this.o.kind === 'inner') return;
    this.ctx.forward({ ...r, value: this.joiner(r.value, found ?? null, r.key) });
  }
}

export const tables: ProcessorDefinition[] = [
  {
    type: 'table',
    description:
      'Keeps the latest value per key in a key-value store (a null value deletes); forwards each change',
    options: tableOptions,
    stores: (o: { store: string }) => [
      {
        name: o.store,
        kind: 'keyValue',
        keySerde: 'string',
        valueSerde: 'json',
        logged: true,
        cache: true,
      },
    ],
    create: (o: { store: string }) => new TableProcessor(o.store),
  },
  {
    type: 'stream-table-join',
    description:
      "Joins each record with the table's value for its key (inner: keys the table holds; left: every record)",
    options: joinOptions,
    create: (o: JoinOptions, fn?: ValueJoiner) => {
      if (fn !== undefined && typeof fn !== 'function')
        throw new Error('stream-table-join: the joiner must be a function');
      return new StreamTableJoin(o, fn ?? pairJoiner);
    },
  },
];
