/**
 * Grouped streams of the builder: `groupByKey().count()/aggregate()/reduce()` over a
 * key-value store, and `windowedBy(window)` for time, session and sliding windows (see
 * windowed.ts). Each declares its store (changelogged and cached by default).
 */
import type { TopologyBuilder } from './builder.js';
import { reducerFold, type Fold } from './folds.js';
import { AggregatedStream, type KStream } from './stream.js';
import {
  SessionWindowedStream,
  SlidingWindowedStream,
  TimeWindowedStream,
  type Grouping,
} from './windowed.js';
import type { SessionWindows, SlidingWindows, TumblingWindow } from './windows.js';

export { tumbling, hopping, session, sliding, joinWindows } from './windows.js';
export type {
  TumblingWindow,
  TimeWindows,
  SessionWindows,
  SlidingWindows,
  JoinWindows,
} from './windows.js';
export { TimeWindowedStream, SessionWindowedStream, SlidingWindowedStream } from './windowed.js';
export type { Windowed } from './suppress.js';
export type { Fold } from './folds.js';

/** Options of `count()`, `aggregate()` and `reduce()`. */
export interface AggregateOptions {
  /** Node name (default `count-<n>` / `aggregate-<n>` / `reduce-<n>`). */
  name?: string;
  /** Store name (default `<node>-store`). */
  store?: string;
  /** Serde of the aggregate in the store (default `int64` for key-value counts, `json` otherwise). */
  valueSerde?: string;
  /** Keep a changelog topic `<app>-<store>-changelog` (default true). */
  logged?: boolean;
  /** Put a write cache in front of the store (default true). */
  cache?: boolean;
}

/** Options of the key-value `count()`, `aggregate()` and `reduce()`. */
export interface KeyValueAggregateOptions extends AggregateOptions {
  /**
   * `every-update` (default): one output per input record, each key's new value.
   * `on-commit`: a key's newest value once per commit, however many records updated it
   * between two commits (Kafka Streams' record cache; fewer output and downstream records).
   */
  emit?: 'every-update' | 'on-commit';
  /** With `on-commit`: keys held between commits before the least recently updated leaves early (default 10 000). */
  maxBufferedKeys?: number;
}

/** The processor options of a key-value aggregation over `store`. */
function aggregationOptions(store: string, o: KeyValueAggregateOptions) {
  return {
    store,
    ...(o.emit ? { emit: o.emit } : {}),
    ...(o.maxBufferedKeys !== undefined ? { maxBufferedKeys: o.maxBufferedKeys } : {}),
  };
}

export class KGroupedStream<K, V> {
  constructor(
    private readonly b: TopologyBuilder,
    private readonly stream: KStream<K, V>,
    private readonly serdes: { keySerde: string; valueSerde: string },
  ) {}

  private get grouping(): Grouping<K, V> {
    return { b: this.b, stream: this.stream, serdes: this.serdes };
  }

  private kvStore(name: string, o: AggregateOptions, valueSerde: string): string {
    const store = o.store ?? `${name}-store`;
    this.b.addStore({
      name: store,
      kind: 'keyValue',
      keySerde: this.serdes.keySerde,
      valueSerde: o.valueSerde ?? valueSerde,
      logged: o.logged ?? true,
      cache: o.cache ?? true,
    });
    return store;
  }

  /** Appends a key-value aggregation node of `type`; returns its result stream. */
  private aggregation<A>(
    type: 'count' | 'aggregate',
    name: string,
    o: KeyValueAggregateOptions,
    fn?: unknown,
  ): AggregatedStream<K, A> {
    const store = this.kvStore(name, o, type === 'count' ? 'int64' : 'json');
    this.b.addNode(
      {
        kind: 'processor',
        name,
        type,
        parents: [this.stream.ref],
        options: aggregationOptions(store, o),
        stores: [store],
        ...(fn ? { inline: true } : {}),
      },
      fn,
    );
    const value = type === 'count' ? 'int64' : (o.valueSerde ?? 'json');
    return new AggregatedStream<K, A>(this.b, name, {
      keyChanged: false,
      serdes: { key: this.serdes.keySerde, value },
    });
  }

  /**
   * Counts records per key (null keys are skipped); emits the key with its new count, per
   * record or (`emit: 'on-commit'`) the newest count per key at each commit.
   */
  count(opts: KeyValueAggregateOptions = {}): AggregatedStream<K, number> {
    return this.aggregation('count', this.b.nameFor('count', opts.name), opts);
  }

  /**
   * Folds records per key: `adder(key, value, current ?? init())`; emits the new aggregate.
   * An adder that returns `undefined` leaves the key's aggregate as it was and emits nothing.
   *
   * ```ts
   * grouped.aggregate(() => 0, (_k, v, sum) => sum + v.amount);
   * ```
   */
  aggregate<A>(
    init: () => A,
    adder: Fold<K, V, A>,
    opts: KeyValueAggregateOptions = {},
  ): AggregatedStream<K, A> {
    const name = this.b.nameFor('aggregate', opts.name);
    return this.aggregation('aggregate', name, opts, { init, adder });
  }

  /**
   * Combines the records of each key: the first value is the aggregate, each later one
   * becomes `reducer(aggregate, value)`; emits the new aggregate (as `aggregate()`).
   * Records with a null value leave the aggregate as it is (and emit nothing).
   *
   * ```ts
   * trades.groupByKey().reduce((max, t) => (t.price > max.price ? t : max));
   * ```
   */
  reduce(
    reducer: (aggregate: V, value: V) => V,
    opts: KeyValueAggregateOptions = {},
  ): AggregatedStream<K, V> {
    const name = this.b.nameFor('reduce', opts.name);
    const o = { ...opts, valueSerde: opts.valueSerde ?? this.serdes.valueSerde };
    // The fold declines a null value (the aggregate stays): every output is a V.
    return this.aggregation('aggregate', name, o, {
      init: () => undefined,
      adder: reducerFold(reducer, true),
    });
  }

  /**
   * Windows the grouped stream: time windows (`tumbling()`, `hopping()`), session windows
   * (`session()`) or sliding windows (`sliding()`).
   */
  windowedBy(window: SessionWindows): SessionWindowedStream<K, V>;
  windowedBy(window: SlidingWindows): SlidingWindowedStream<K, V>;
  windowedBy(window: TumblingWindow): TimeWindowedStream<K, V>;
  windowedBy(
    window: TumblingWindow | SessionWindows | SlidingWindows,
  ): TimeWindowedStream<K, V> | SessionWindowedStream<K, V> | SlidingWindowedStream<K, V> {
    if (window.kind === 'session') return new SessionWindowedStream(this.grouping, window);
    if (window.kind === 'sliding') return new SlidingWindowedStream(this.grouping, window);
    return new TimeWindowedStream(this.grouping, window);
  }
}
