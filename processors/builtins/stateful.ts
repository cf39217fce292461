/**
 * Stateful built-ins over key-value stores: count and aggregate. Each emits the updated
 * value of a key per record (`emit: 'every-update'`, the default) or only the newest one
 * per key at each commit (`emit: 'on-commit'`, as Kafka Streams' record cache does).
 */
import { z } from 'zod';
import type { KeyValueStore } from '../../state/api.js';
import type { Processor, ProcessorContext, StreamRecord } from '../api.js';
import type { ProcessorDefinition } from '../registry.js';
import { inlineFold } from './inline.js';
import { LatestUpdates } from './latest-updates.js';

const aggregationOptions = z
  .object({
    store: z.string().min(1),
    /** `every-update`: one output per input record; `on-commit`: a key's newest value per commit. */
    emit: z.enum(['every-update', 'on-commit']).default('every-update'),
    /** `on-commit`: keys held between commits before the least recently updated is emitted early. */
    maxBufferedKeys: z.number().int().positive().default(10_000),
  })
  .strict();
type AggregationOptions = z.infer<typeof aggregationOptions>;

type Fold = (key: unknown, value: unknown, aggregate: unknown) => unknown;

/** Folds each keyed record into the store and emits the new aggregate now or at commit. */
class KeyValueAggregation implements Processor {
  private ctx!: ProcessorContext;
  private store!: KeyValueStore<unknown, unknown>;
  private latest: LatestUpdates | undefined;

  constructor(
    private readonly o: AggregationOptions,
    private readonly init0: () => unknown,
    private readonly fold: Fold,
  ) {}

  init(ctx: ProcessorContext<unknown, unknown, Record<string, unknown>>) {
    this.ctx = ctx;
    this.store = ctx.stores[this.o.store] as KeyValueStore<unknown, unknown>;
    if (this.o.emit === 'on-commit')
      this.latest = new LatestUpdates(this.o.maxBufferedKeys, (r) => ctx.forward(r));
  }

  process(r: StreamRecord) {
    if (r.key === null || r.key === undefined) return; // Kafka Streams drops null keys in aggregations too
    const agg = this.fold(r.key, r.value, this.store.get(r.key) ?? this.init0());
    if (agg === undefined) return; // the fold declined the record: nothing changes, nothing emitted
    this.store.put(r.key, agg);
    if (this.latest) this.latest.put(r, agg);
    else this.ctx.forward({ ...r, value: agg });
  }

  flush() {
    this.latest?.flush();
  }
}

const countFold: Fold = (_k, _v, n) => (n as number) + 1;

export const stateful: ProcessorDefinition[] = [
  {
    type: 'count',
    description:
      'Counts records per key in a key-value store; emits the new count (per record, or per key at commit)',
    options: aggregationOptions,
    stores: (o: AggregationOptions) => [
      {
        name: o.store,
        kind: 'keyValue',
        keySerde: 'string',
        valueSerde: 'int64',
        logged: true,
        cache: true,
      },
    ],
    create: (o: AggregationOptions) => new KeyValueAggregation(o, () => 0, countFold),
  },
  {
    type: 'aggregate',
    description:
      'Folds records per key with init/adder functions; emits the new aggregate (per record, or per key at commit)',
    options: aggregationOptions,
    create: (o: AggregationOptions, inline) => {
      const fold = inlineFold('aggregate', inline);
      return new KeyValueAggregation(o, fold.init, fold.adder);
    },
  },
];
