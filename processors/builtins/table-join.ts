/**
 * Table-table joins (Kafka Streams' KTable#join/leftJoin/outerJoin): two nodes of this
 * type, one under each table's changes, each reading the other table, and a merge after
 * them. The result is a table too: for each change of either side it forwards the key's
 * new joined value, `joiner(leftValue, rightValue, key)` (with `null` for a side an outer
 * or left join lacks), or `null` when the key just left the result (a tombstone). A change
 * that leaves a key out of the result before and after forwards nothing.
 */
import { z } from 'zod';
import type { Processor, ProcessorContext, StreamRecord } from '../api.js';
import type { ProcessorDefinition } from '../registry.js';
import {
  inlineJoin,
  isAbsent,
  storeLookup,
  storeReader,
  type StoreRead,
  type TableLookup,
} from './table-lookup.js';

export const tableJoinOptions = z
  .object({
    /** Which table's changes this node is under. */
    side: z.enum(['left', 'right']),
    kind: z.enum(['inner', 'left', 'outer']).default('inner'),
    /** The other table's store. */
    otherStore: z.string().min(1),
    /** Further stores the other table's lookup reads (a table derived from several). */
    reads: z.array(z.string().min(1)).optional(),
  })
  .strict();
export type TableJoinOptions = z.infer<typeof tableJoinOptions>;

type Joiner = (left: unknown, right: unknown, key: unknown) => unknown;
const pairJoiner: Joiner = (left, right) => ({ left, right });

/** Whether a key is in the join's result, given whether each table holds it. */
const IN_RESULT = {
  inner: (l: boolean, r: boolean) => l && r,
  left: (l: boolean) => l,
  outer: (l: boolean, r: boolean) => l || r,
} as const;

export class TableJoinSide implements Processor {
  private ctx!: ProcessorContext;
  private read!: StoreRead;

  constructor(
    private readonly o: TableJoinOptions,
    private readonly joiner: Joiner,
    private readonly otherTable: TableLookup,
  ) {}

  init(ctx: ProcessorContext): void {
    this.ctx = ctx;
    this.read = storeReader(ctx, 'table-table-join', [this.o.otherStore, ...(this.o.reads ?? [])]);
  }

  /** Left and right presence with this side's presence set to `mine`. */
  private inResult(mine: boolean, theirs: boolean): boolean {
    const [l, r] = this.o.side === 'left' ? [mine, theirs] : [theirs, mine];
    return IN_RESULT[this.o.kind](l, r);
  }

  process(r: StreamRecord): void {
    if (isAbsent(r.key)) return;
    const mine = isAbsent(r.value) ? null : r.value;
    const found = this.otherTable(this.read, r.key);
    const theirs = isAbsent(found) ? null : found;
    if (this.inResult(mine !== null, theirs !== null)) {
      const [l, rt] = this.o.side === 'left' ? [mine, theirs] : [theirs, mine];
      this.ctx.forward({ ...r, value: this.joiner(l, rt, r.key) });
    } else if (mine === null && this.inResult(true, theirs !== null)) {
      // A delete (tables forward one only for a key they held): the key leaves the result.
      this.ctx.forward({ ...r, value: null });
    }
  }
}

/** The inline parts: `{ joiner, lookup }` (the other table, read through what the builder did to it). */
function parts(o: TableJoinOptions, inline: unknown): { joiner: Joiner; lookup: TableLookup } {
  if (inline === undefined) return { joiner: pairJoiner, lookup: storeLookup(o.otherStore) };
  return inlineJoin<Joiner>('table-table-join', inline, o.otherStore);
}

export const tableJoins: ProcessorDefinition<TableJoinOptions>[] = [
  {
    type: 'table-table-join',
    description:
      "One side of a table-table join (inner, left, outer): for each change of its table, the key's new joined value or a tombstone",
    options: tableJoinOptions,
    // The other table's stores (a file need not list them on the node).
    stores: (o) =>
      [o.otherStore, ...(o.reads ?? [])].map((name) => ({
        name,
        kind: 'keyValue' as const,
        keySerde: 'string',
        valueSerde: 'json',
        logged: true,
        cache: true,
      })),
    create: (o, inline) => {
      const p = parts(o, inline);
      return new TableJoinSide(o, p.joiner, p.lookup);
    },
  },
];
