/** Stateful built-ins over key-value stores: count and aggregate (emit the updated value per record). */
import { z } from 'zod';
import type { KeyValueStore } from '../../state/api.js';
import type { Processor, ProcessorContext, StreamRecord } from '../api.js';
import type { ProcessorDefinition } from '../registry.js';

const storeOption = z.object({ store: z.string().min(1) }).strict();

class CountProcessor implements Processor {
  private ctx!: ProcessorContext;
  private store!: KeyValueStore<unknown, number>;
  constructor(private readonly storeName: string) {}
  init(ctx: ProcessorContext<unknown, unknown, Record<string, unknown>>) {
    this.ctx = ctx;
    this.store = ctx.stores[this.storeName] as KeyValueStore<unknown, number>;
  }
  process(r: StreamRecord) {
    if (r.key === null || r.key === undefined) return; // Kafka Streams drops null keys in aggregations too
    const n = (this.store.get(r.key) ?? 0) + 1;
    this.store.put(r.key, n);
    this.ctx.forward({ ...r, value: n });
  }
}

class AggregateProcessor implements Processor {
  private ctx!: ProcessorContext;
  private store!: KeyValueStore<unknown, unknown>;
  constructor(
    private readonly storeName: string,
    private readonly fns: {
      init: () => unknown;
      adder: (k: unknown, v: unknown, a: unknown) => unknown;
    },
  ) {}
  init(ctx: ProcessorContext<unknown, unknown, Record<string, unknown>>) {
    this.ctx = ctx;
    this.store = ctx.stores[this.storeName] as KeyValueStore<unknown, unknown>;
  }
  process(r: StreamRecord) {
    if (r.key === null || r.key === undefined) return;
    const agg = this.fns.adder(r.key, r.value, this.store.get(r.key) ?? this.fns.init());
    this.store.put(r.key, agg);
    this.ctx.forward({ ...r, value: agg });
  }
}

export const stateful: ProcessorDefinition[] = [
  {
    type: 'count',
    description: 'Counts records per key in a key-value store; emits the new count',
    options: storeOption,
    stores: (o: { store: string }) => [
      {
        name: o.store,
        kind: 'keyValue',
        keySerde: 'string',
        valueSerde: 'int64',
        logged: true,
        cache: true,
      },
    ],
    create: (o: { store: string }) => new CountProcessor(o.store),
  },
  {
    type: 'aggregate',
    description: 'Folds records per key with init/adder functions; emits the new aggregate',
    options: storeOption,
    create: (o: { store: string }, fns) => {
      if (!fns || typeof fns.adder !== 'function')
        throw new Error(
          'aggregate needs init and adder functions: build it with the TypeScript builder',
        );
      return new AggregateProcessor(o.store, fns);
    },
  },
];
