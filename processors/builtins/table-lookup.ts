/**
 * How a join reads a table: the value for a key, from the table's store, through what the
 * builder did to the table since (`filter`, `mapValues`, a table-table join: a function
 * of the stores it reads, given inline). Without one (a topology file), the store's value.
 */
import type { KeyValueStore } from '../../state/api.js';
import type { ProcessorContext } from '../api.js';
import { inlineFn } from './inline.js';

/** Reads `key` of the store named `store`. */
export type StoreRead = (store: string, key: unknown) => unknown;

/** A table's value for `key` (`null` or `undefined` when the table does not hold it). */
export type TableLookup = (read: StoreRead, key: unknown) => unknown;

/** The store's own value: the lookup of a table read straight from a topic. */
export const storeLookup =
  (store: string): TableLookup =>
  (read, key) =>
    read(store, key);

/**
 * The `{ joiner, lookup }` the builder gives a join node of `type` inline: the joiner is
 * required; without a lookup the join reads `store`'s own value.
 */
export function inlineJoin<J extends (...a: never[]) => unknown>(
  type: string,
  inline: unknown,
  store: string,
): { joiner: J; lookup: TableLookup } {
  const i = inline as { joiner?: unknown; lookup?: unknown };
  return {
    joiner: inlineFn<J>(type, i.joiner),
    lookup: i.lookup === undefined ? storeLookup(store) : inlineFn<TableLookup>(type, i.lookup),
  };
}

/** A reader of the context's key-value stores; a store missing from the node's list is an error naming it. */
export function storeReader(
  ctx: ProcessorContext,
  type: string,
  stores: readonly string[],
): StoreRead {
  const byName = new Map<string, KeyValueStore<unknown, unknown>>();
  for (const name of stores) {
    const s = ctx.stores[name];
    if (!s)
      throw new Error(
        `${type} "${ctx.processorName}": store "${name}" is not among the node's stores; list it in the node's stores (the table node that writes it declares it)`,
      );
    byName.set(name, s as KeyValueStore<unknown, unknown>);
  }
  return (store, key) => byName.get(store)?.get(key);
}

export const isAbsent = (x: unknown): x is null | undefined => x === null || x === undefined;
