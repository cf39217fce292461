/**
 * Windowed streams of the builder: `windowedBy(tumbling | hopping)`, `windowedBy(session)`
 * and `windowedBy(sliding)`, each with `count()`, `aggregate()` and `reduce()`. A windowed
 * aggregation emits each window's final result once, when it closes (or, with `emit:
 * 'every-update'`, each change), closes on idle with `idleCloseMs`, and sends records
 * later than its grace to its `late` output (or the dead-letter topic).
 */
import type { TopologyBuilder } from './builder.js';
import { reducerFold, type Fold } from './folds.js';
import type { AggregateOptions } from './grouped.js';
import { compact, type Json, type StoreSpec } from './spec.js';
import { WindowedStream, type KStream } from './stream.js';
import type { WindowClosing } from './suppress.js';
import type { SessionWindows, SlidingWindows, TumblingWindow } from './windows.js';

/** Options of a windowed `count()`, `aggregate()` and `reduce()`. */
export interface WindowedAggregateOptions extends AggregateOptions {
  /**
   * `final` (default): one result per window, when it closes (what Kafka Streams gives with
   * `suppress(untilWindowCloses())`). `every-update`: each window's new aggregate for every
   * record that changes it (Kafka Streams' default); follow with `suppress()` to thin it out.
   */
  emit?: 'final' | 'every-update';
  /**
   * Close on idle: when no input reached the task for this long on the wall clock (ms), move
   * the aggregation's clock on by the idle time, so windows close without waiting for a
   * later record. Records that then arrive for a window this closed are late.
   */
  idleCloseMs?: number;
}

/** Session aggregations emitting every update say a merged-away session with a `null` value. */
export type SessionValue<A, O> = O extends { emit: 'every-update' } ? A | null : A;

/** What a windowed stream is made of. */
export interface Grouping<K, V> {
  b: TopologyBuilder;
  stream: KStream<K, V>;
  serdes: { keySerde: string; valueSerde: string };
}

/** The options every windowed node takes besides its window's. */
function common(store: string, o: WindowedAggregateOptions) {
  return { store, emit: o.emit, idleCloseMs: o.idleCloseMs };
}

/** Shared by the three windowed streams: declares stores and appends the aggregation node. */
abstract class Windowing<K, V> {
  constructor(protected readonly g: Grouping<K, V>) {}

  protected declare(store: Omit<StoreSpec, 'keySerde' | 'logged' | 'cache'>, o: AggregateOptions) {
    const { name, kind, valueSerde, ...times } = store;
    this.g.b.addStore({
      name,
      kind,
      keySerde: this.g.serdes.keySerde,
      valueSerde,
      logged: o.logged ?? true,
      cache: o.cache ?? true,
      ...times,
    });
    return name;
  }

  protected node<A>(
    spec: {
      type: string;
      name: string;
      options: Json;
      stores: string[];
    },
    fn: unknown,
    closing: WindowClosing,
  ): WindowedStream<K, A> {
    this.g.b.addNode(
      {
        kind: 'processor',
        name: spec.name,
        type: spec.type,
        parents: [this.g.stream.ref],
        options: spec.options,
        stores: spec.stores,
        ...(fn ? { inline: true } : {}),
      },
      fn,
    );
    const serdes = { key: this.g.serdes.keySerde, value: 'json' };
    return new WindowedStream<K, A>(this.g.b, spec.name, { keyChanged: false, serdes }, closing);
  }
}

export class TimeWindowedStream<K, V> extends Windowing<K, V> {
  constructor(
    g: Grouping<K, V>,
    private readonly window: TumblingWindow,
  ) {
    super(g);
  }

  private add<A>(type: string, name: string, o: WindowedAggregateOptions, fn?: unknown) {
    const { sizeMs, graceMs, advanceMs } = this.window;
    const store = this.declare(
      {
        name: o.store ?? `${name}-store`,
        kind: 'window',
        valueSerde: o.valueSerde ?? 'json',
        retentionMs: sizeMs + graceMs,
        windowSizeMs: sizeMs,
      },
      o,
    );
    const hop = advanceMs !== sizeMs ? advanceMs : undefined;
    const options = compact({ ...common(store, o), sizeMs, graceMs, advanceMs: hop });
    const closing = { closeAfterMs: graceMs, idleCloseMs: o.idleCloseMs };
    return this.node<A>({ type, name, options, stores: [store] }, fn, closing);
  }

  /**
   * Counts records per key and window; emits `{ window_start, window_end, value }` once per
   * window when it closes. Records later than end + grace go to output `late` (or, with no
   * child there, to the dead-letter topic with reason `late`).
   */
  count(opts: WindowedAggregateOptions = {}): WindowedStream<K, number> {
    return this.add('windowed-count', this.g.b.nameFor('windowed-count', opts.name), opts);
  }

  /** Folds records per key and window; emits each window's final aggregate once (as `count()`). */
  aggregate<A>(
    init: () => A,
    adder: Fold<K, V, A>,
    opts: WindowedAggregateOptions = {},
  ): WindowedStream<K, A> {
    const name = this.g.b.nameFor('windowed-aggregate', opts.name);
    return this.add('windowed-aggregate', name, opts, { init, adder });
  }

  /** Combines the records of each key and window with `reducer` (null values change nothing). */
  reduce(
    reducer: (aggregate: V, value: V) => V,
    opts: WindowedAggregateOptions = {},
  ): WindowedStream<K, V> {
    const name = this.g.b.nameFor('windowed-reduce', opts.name);
    return this.add('windowed-aggregate', name, opts, {
      init: () => undefined,
      adder: reducerFold(reducer),
    });
  }
}

export class SessionWindowedStream<K, V> extends Windowing<K, V> {
  constructor(
    g: Grouping<K, V>,
    private readonly window: SessionWindows,
  ) {
    super(g);
  }

  private add<A>(type: string, name: string, o: WindowedAggregateOptions, fn?: unknown) {
    const { gapMs, graceMs } = this.window;
    const store = this.declare(
      {
        name: o.store ?? `${name}-store`,
        kind: 'session',
        valueSerde: o.valueSerde ?? 'json',
        retentionMs: 2 * gapMs + graceMs + 1,
      },
      o,
    );
    const options = compact({ ...common(store, o), gapMs, graceMs });
    // A session [start, end] is final once the clock is past end + gap + grace.
    const closing = { closeAfterMs: gapMs + graceMs + 1, idleCloseMs: o.idleCloseMs };
    return this.node<A>({ type, name, options, stores: [store] }, fn, closing);
  }

  /**
   * Counts records per key and session; emits `{ window_start, window_end, value }` (the
   * session's first and last record times) once per session when it closes.
   */
  count<const O extends WindowedAggregateOptions = WindowedAggregateOptions>(
    opts?: O,
  ): WindowedStream<K, SessionValue<number, O>> {
    const o: WindowedAggregateOptions = opts ?? {};
    return this.add('session-count', this.g.b.nameFor('session-count', o.name), o);
  }

  /**
   * Folds records per key and session: `adder` as usual, and `merger(key, a, b)` when a
   * record joins two sessions into one.
   *
   * ```ts
   * clicks.groupByKey().windowedBy(session(1_800_000))
   *   .aggregate(() => [] as string[], (_k, c, pages) => [...pages, c.page], (_k, a, b) => [...a, ...b]);
   * ```
   */
  aggregate<A, const O extends WindowedAggregateOptions = WindowedAggregateOptions>(
    init: () => A,
    adder: Fold<K, V, A>,
    merger: (key: K, a: NoInfer<A>, b: NoInfer<A>) => NoInfer<A>,
    opts?: O,
  ): WindowedStream<K, SessionValue<A, O>> {
    const o: WindowedAggregateOptions = opts ?? {};
    const name = this.g.b.nameFor('session-aggregate', o.name);
    return this.add('session-aggregate', name, o, { init, adder, merger });
  }

  /** Combines the records of each key and session with `reducer` (also to merge two sessions). */
  reduce<const O extends WindowedAggregateOptions = WindowedAggregateOptions>(
    reducer: (aggregate: V, value: V) => V,
    opts?: O,
  ): WindowedStream<K, SessionValue<V, O>> {
    const o: WindowedAggregateOptions = opts ?? {};
    const name = this.g.b.nameFor('session-reduce', o.name);
    const fold = reducerFold(reducer);
    return this.add('session-aggregate', name, o, {
      init: () => undefined,
      adder: fold,
      merger: (k: unknown, a: V | undefined, b: V | undefined) =>
        b === undefined ? a : fold(k, b, a),
    });
  }
}

export class SlidingWindowedStream<K, V> extends Windowing<K, V> {
  constructor(
    g: Grouping<K, V>,
    private readonly window: SlidingWindows,
  ) {
    super(g);
  }

  private add<A>(type: string, name: string, o: WindowedAggregateOptions, fn?: unknown) {
    const { sizeMs, graceMs } = this.window;
    const retentionMs = 2 * sizeMs + graceMs + 1;
    const base = o.store ?? `${name}-store`;
    const store = this.declare(
      {
        name: base,
        kind: 'window',
        valueSerde: o.valueSerde ?? 'json',
        retentionMs,
        windowSizeMs: sizeMs,
      },
      o,
    );
    const records = this.declare(
      { name: `${base}-records`, kind: 'window', valueSerde: 'json', retentionMs },
      o,
    );
    const options = compact({ ...common(store, o), sizeMs, graceMs });
    // A window [start, start + size] is final once the clock is past its end + grace.
    const closing = { closeAfterMs: graceMs + 1, idleCloseMs: o.idleCloseMs };
    return this.node<A>({ type, name, options, stores: [store, records] }, fn, closing);
  }

  /** Counts records per key and sliding window; emits each window's final count once. */
  count(opts: WindowedAggregateOptions = {}): WindowedStream<K, number> {
    return this.add('sliding-count', this.g.b.nameFor('sliding-count', opts.name), opts);
  }

  /** Folds records per key and sliding window (the fold should not depend on record order). */
  aggregate<A>(
    init: () => A,
    adder: Fold<K, V, A>,
    opts: WindowedAggregateOptions = {},
  ): WindowedStream<K, A> {
    const name = this.g.b.nameFor('sliding-aggregate', opts.name);
    return this.add('sliding-aggregate', name, opts, { init, adder });
  }

  /** Combines the records of each key and sliding window with `reducer`. */
  reduce(
    reducer: (aggregate: V, value: V) => V,
    opts: WindowedAggregateOptions = {},
  ): WindowedStream<K, V> {
    const name = this.g.b.nameFor('sliding-reduce', opts.name);
    return this.add('sliding-aggregate', name, opts, {
      init: () => undefined,
      adder: reducerFold(reducer),
    });
  }
}
