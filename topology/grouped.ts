/**
 * Grouped and windowed streams of the builder: `groupByKey().count()/aggregate()` over a
 * key-value store, and `groupByKey().windowedBy(tumbling(size, grace)).count()/aggregate()`
 * over a window store. Each declares its store (changelogged and cached by default).
 */
import type { TopologyBuilder } from './builder.js';
import type { KStream } from './stream.js';
import type { StoreSpec } from './spec.js';

/** Time windows: `sizeMs` wide, epoch-aligned, accepting records up to `graceMs` late. */
export interface TumblingWindow {
  sizeMs: number;
  graceMs: number;
  /** Hopping windows: one starts every `advanceMs` (absent: tumbling, one every `sizeMs`). */
  advanceMs?: number;
}

/**
 * Tumbling (non-overlapping, epoch-aligned) windows of `sizeMs` milliseconds; a window
 * accepts records until stream time passes its end + `graceMs` (default 0), then emits
 * its final result once.
 *
 * ```ts
 * stream.groupByKey().windowedBy(tumbling(60_000, 10_000)).count();
 * ```
 */
export const tumbling = (sizeMs: number, graceMs = 0): TumblingWindow => ({ sizeMs, graceMs });

/**
 * Hopping (overlapping, epoch-aligned) windows of `sizeMs` milliseconds, one starting every
 * `advanceMs` (at most `sizeMs`): a record counts in each of the `sizeMs / advanceMs`
 * windows that hold it. Each window emits its final result once, when stream time passes
 * its end + `graceMs`.
 *
 * ```ts
 * stream.groupByKey().windowedBy(hopping(300_000, 60_000, 10_000)).count(); // 5-minute windows every minute
 * ```
 */
export const hopping = (sizeMs: number, advanceMs: number, graceMs = 0): TumblingWindow => ({
  sizeMs,
  graceMs,
  advanceMs,
});

/** A windowed result: the window `[window_start, window_end)` (epoch ms) and its final aggregate. */
export interface Windowed<A> {
  window_start: number;
  window_end: number;
  value: A;
}

/** Options of `count()` and `aggregate()`. */
export interface AggregateOptions {
  /** Node name (default `count-<n>` / `aggregate-<n>`). */
  name?: string;
  /** Store name (default `<node>-store`). */
  store?: string;
  /** Serde of the aggregate in the store (default `int64` for counts, `json` otherwise). */
  valueSerde?: string;
  /** Keep a changelog topic `<app>-<store>-changelog` (default true). */
  logged?: boolean;
  /** Put a write cache in front of the store (default true). */
  cache?: boolean;
}

/** Options of the key-value `count()` and `aggregate()` (not windowed: those emit once per window). */
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

/** An aggregation's adder; the aggregate's type `A` is taken from `init` alone. */
type Fold<K, V, A> = (key: K, value: V, aggregate: NoInfer<A>) => NoInfer<A>;

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

  /**
   * Counts records per key (null keys are skipped); emits the key with its new count, per
   * record or (`emit: 'on-commit'`) the newest count per key at each commit.
   */
  count(opts: KeyValueAggregateOptions = {}): KStream<K, number> {
    const name = this.b.nameFor('count', opts.name);
    const store = this.kvStore(name, opts, 'int64');
    return this.stream.process<K, number>('count', {
      name,
      options: aggregationOptions(store, opts),
      stores: [store],
      serdes: { key: this.serdes.keySerde, value: 'int64' },
    });
  }

  /**
   * Folds records per key: `adder(key, value, current ?? init())`; emits the new aggregate.
   * An adder that returns `undefined` leaves the key's aggregate as it was and emits nothing.
   *
   * ```ts
   * grouped.aggregate(() => 0, (_k, v: { amount: number }, sum) => sum + v.amount);
   * ```
   */
  aggregate<A>(
    init: () => A,
    adder: Fold<K, V, A>,
    opts: KeyValueAggregateOptions = {},
  ): KStream<K, A> {
    const name = this.b.nameFor('aggregate', opts.name);
    const store = this.kvStore(name, opts, 'json');
    this.b.addNode(
      {
        kind: 'processor',
        name,
        type: 'aggregate',
        parents: [this.stream.ref],
        options: aggregationOptions(store, opts),
        stores: [store],
        inline: true,
      },
      { init, adder },
    );
    return this.b.streamOf<K, A>(name, {
      key: this.serdes.keySerde,
      value: opts.valueSerde ?? 'json',
    });
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
  ): KStream<K, V> {
    const reduced = this.aggregate<V | undefined>(
      () => undefined,
      (_k, v, agg) =>
        v === null || v === undefined ? undefined : agg === undefined ? v : reducer(agg, v),
      {
        ...opts,
        name: this.b.nameFor('reduce', opts.name),
        valueSerde: opts.valueSerde ?? this.serdes.valueSerde,
      },
    );
    // The adder never stores `undefined` (it declines the record instead): every output is a V.
    return reduced as KStream<K, V>;
  }

  /** Windows the grouped stream (see `tumbling()` and `hopping()`). */
  windowedBy(window: TumblingWindow): TimeWindowedStream<K, V> {
    return new TimeWindowedStream(this.b, this.stream, this.serdes, window);
  }
}

export class TimeWindowedStream<K, V> {
  constructor(
    private readonly b: TopologyBuilder,
    private readonly stream: KStream<K, V>,
    private readonly serdes: { keySerde: string; valueSerde: string },
    private readonly window: TumblingWindow,
  ) {}

  private windowStore(name: string, o: AggregateOptions): string {
    const store: StoreSpec = {
      name: o.store ?? `${name}-store`,
      kind: 'window',
      keySerde: this.serdes.keySerde,
      valueSerde: o.valueSerde ?? 'json',
      logged: o.logged ?? true,
      cache: o.cache ?? true,
      retentionMs: this.window.sizeMs + this.window.graceMs,
      windowSizeMs: this.window.sizeMs,
    };
    this.b.addStore(store);
    return store.name;
  }

  private options(store: string) {
    const { sizeMs, graceMs, advanceMs } = this.window;
    return {
      store,
      sizeMs,
      graceMs,
      ...(advanceMs !== undefined && advanceMs !== sizeMs ? { advanceMs } : {}),
    };
  }

  /**
   * Counts records per key and window; emits `{ window_start, window_end, value }` once per
   * window when it closes. Records later than end + grace go to output `late` (or, with no
   * child there, to the dead-letter topic with reason `late`).
   */
  count(opts: AggregateOptions = {}): KStream<K, Windowed<number>> {
    const name = this.b.nameFor('windowed-count', opts.name);
    const store = this.windowStore(name, opts);
    return this.stream.process<K, Windowed<number>>('windowed-count', {
      name,
      options: this.options(store),
      stores: [store],
      serdes: { key: this.serdes.keySerde, value: 'json' },
    });
  }

  /** Folds records per key and window; emits each window's final aggregate once (as `count()`). */
  aggregate<A>(
    init: () => A,
    adder: Fold<K, V, A>,
    opts: AggregateOptions = {},
  ): KStream<K, Windowed<A>> {
    const name = this.b.nameFor('windowed-aggregate', opts.name);
    const store = this.windowStore(name, opts);
    this.b.addNode(
      {
        kind: 'processor',
        name,
        type: 'windowed-aggregate',
        parents: [this.stream.ref],
        options: this.options(store),
        stores: [store],
        inline: true,
      },
      { init, adder },
    );
    return this.b.streamOf<K, Windowed<A>>(name, { key: this.serdes.keySerde, value: 'json' });
  }
}
