/** The functions aggregations take, typed for the builder. */

/** An aggregation's adder; the aggregate's type `A` is taken from `init` alone. */
export type Fold<K, V, A> = (key: K, value: V, aggregate: NoInfer<A>) => NoInfer<A>;

/**
 * A reducer as a fold over `undefined` (no aggregate yet). A null value changes nothing:
 * the fold gives the aggregate back, or with `decline` gives `undefined` (a key-value
 * aggregation then stores and emits nothing for the record).
 */
export function reducerFold<V>(
  reducer: (aggregate: V, value: V) => V,
  decline = false,
): (key: unknown, value: V, agg: V | undefined) => V | undefined {
  return (_k, v, agg) =>
    v === null || v === undefined
      ? decline
        ? undefined
        : agg
      : agg === undefined
        ? v
        : reducer(agg, v);
}
