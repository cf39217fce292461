/**
 * Serde names as the builder sees them, with the types they carry. A topology names its
 * serdes (`string`, `json`, `int64`, …, or a registered one such as `avro:trade`), so the
 * spec stays plain data; these types let the TypeScript builder check the names against
 * the records' types where both are known:
 *
 * ```ts
 * const counts = b.stream('words', { key: 'string', value: 'string' }) // KStream<string, string>
 *   .groupByKey().count();                                          // KStream<string, number>
 * counts.to('counts', { key: 'string', value: 'int64' });  // fine
 * counts.to('counts', { key: 'string', value: 'string' }); // compile error: numbers, not strings
 * ```
 *
 * Declare the type of a serde you registered under a name to have it checked too:
 *
 * ```ts
 * declare module 'millrace' {
 *   interface SerdeTypes { 'avro:trade': Trade }
 * }
 * ```
 */

/** The type each serde name carries. Augment it (see above) for your own serde names. */
export interface SerdeTypes {
  string: string;
  json: unknown;
  bytes: Buffer;
  int64: number;
  float64: number;
}

/** The type of the records a serde name carries (`unknown` for names it does not know). */
export type SerdeType<N> = string extends N
  ? unknown
  : N extends keyof SerdeTypes
    ? SerdeTypes[N]
    : unknown;

/** Serde names for keys and values: `string`, `json`, `bytes`, `int64`, `float64`, or a registered one. */
export interface Serdes {
  key: string;
  value: string;
}

/** Serdes a stream falls back to where it cannot know better (after a map, say). */
export const DEFAULT_SERDES: Serdes = { key: 'string', value: 'json' };

/**
 * True when the serde named `N` is known and cannot carry `T` (null and undefined aside).
 * Records of unknown type (after `process()`, say) may go to any serde.
 */
type Mismatch<T, N> = unknown extends T
  ? false
  : string extends N
    ? false
    : N extends keyof SerdeTypes
      ? [NonNullable<T>] extends [SerdeTypes[N]]
        ? false
        : true
      : false;

/**
 * `unknown` when the serdes `S` can carry keys `K` and values `V`; otherwise an object type
 * whose field says what is wrong, so that an intersection with it fails to compile with
 * that message.
 */
export type SerdesCheck<K, V, S extends Serdes> = (Mismatch<K, S['key']> extends true
  ? { key: { error: `the serde "${S['key']}" cannot write this stream's keys` } }
  : unknown) &
  (Mismatch<V, S['value']> extends true
    ? { value: { error: `the serde "${S['value']}" cannot write this stream's values` } }
    : unknown);

/** As `SerdesCheck`, for the `{ keySerde, valueSerde }` form of `groupByKey()`. */
export type GroupedSerdesCheck<
  K,
  V,
  S extends { keySerde: string; valueSerde: string },
> = (Mismatch<K, S['keySerde']> extends true
  ? { keySerde: { error: `the serde "${S['keySerde']}" cannot write this stream's keys` } }
  : unknown) &
  (Mismatch<V, S['valueSerde']> extends true
    ? { valueSerde: { error: `the serde "${S['valueSerde']}" cannot write this stream's values` } }
    : unknown);

/** `K` when given, else the type the serde name `N` carries. */
export type Declared<K, N> = [K] extends [never] ? SerdeType<N> : K;
