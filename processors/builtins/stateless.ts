/** Stateless built-ins: map, mapValues, filter, flatMap, peek, selectKey, branch, passthrough, select-key-field. */
import { z } from 'zod';
import type { Processor, ProcessorContext, StreamRecord } from '../api.js';
import type { ProcessorDefinition } from '../registry.js';
import { inlineFn } from './inline.js';

type Fn<A, R> = (a: A) => R;

/** A processor whose `process` is given by `step(record, ctx)`. */
function fnProcessor(step: (r: StreamRecord, ctx: ProcessorContext) => void): Processor {
  let ctx: ProcessorContext;
  return {
    init: (c) => void (ctx = c),
    process: (r) => step(r, ctx),
  };
}

const noOptions = z.object({}).strict();

export const stateless: ProcessorDefinition[] = [
  {
    type: 'map',
    description: 'Replaces each record by fn(record) (key and value may change)',
    options: noOptions,
    changesKey: true,
    create: (_o, inline) => {
      const fn = inlineFn<Fn<StreamRecord, StreamRecord>>('map', inline);
      return fnProcessor((r, c) => c.forward(fn(r)));
    },
  },
  {
    type: 'mapValues',
    description: 'Replaces each value by fn(value, record)',
    options: noOptions,
    create: (_o, inline) => {
      const fn = inlineFn<(v: unknown, r: StreamRecord) => unknown>('mapValues', inline);
      return fnProcessor((r, c) => c.forward({ ...r, value: fn(r.value, r) }));
    },
  },
  {
    type: 'filter',
    description: 'Keeps records for which fn(record) is true',
    options: noOptions,
    create: (_o, inline) => {
      const fn = inlineFn<Fn<StreamRecord, boolean>>('filter', inline);
      return fnProcessor((r, c) => (fn(r) ? c.forward(r) : undefined));
    },
  },
  {
    type: 'flatMap',
    description: 'Replaces each record by the records fn(record) returns',
    options: noOptions,
    changesKey: true,
    create: (_o, inline) => {
      const fn = inlineFn<Fn<StreamRecord, StreamRecord[]>>('flatMap', inline);
      return fnProcessor((r, c) => {
        for (const x of fn(r)) c.forward(x);
      });
    },
  },
  {
    type: 'peek',
    description: 'Calls fn(record) and passes the record on',
    options: noOptions,
    create: (_o, inline) => {
      const fn = inlineFn<Fn<StreamRecord, void>>('peek', inline);
      return fnProcessor((r, c) => (fn(r), c.forward(r)));
    },
  },
  {
    type: 'selectKey',
    description: 'Sets each key to fn(record)',
    options: noOptions,
    changesKey: true,
    create: (_o, inline) => {
      const fn = inlineFn<Fn<StreamRecord, unknown>>('selectKey', inline);
      return fnProcessor((r, c) => c.forward({ ...r, key: fn(r) }));
    },
  },
  {
    type: 'select-key-field',
    description:
      'Sets each key to a field of the (JSON) value; records without the field go to the dead-letter topic',
    options: z.object({ field: z.string().min(1) }).strict(),
    changesKey: true,
    create: (o: { field: string }) =>
      fnProcessor((r, c) => {
        const v = (r.value as Record<string, unknown> | null)?.[o.field];
        if (v === undefined || v === null) c.deadLetter(r, `missing_field_${o.field}`);
        else c.forward({ ...r, key: typeof v === 'string' ? v : String(v) });
      }),
  },
  {
    type: 'branch',
    description:
      'Sends each record to the first branch whose predicate holds; each branch is a named output',
    options: z.object({ branches: z.array(z.string().min(1)).min(1) }).strict(),
    outputs: (o: { branches: string[] }) => o.branches,
    create: (o: { branches: string[] }, inline) => {
      const preds = inline as Array<Fn<StreamRecord, boolean>>;
      if (!Array.isArray(preds) || preds.length !== o.branches.length)
        throw new Error(
          'branch needs one predicate per branch: build it with the TypeScript builder',
        );
      return fnProcessor((r, c) => {
        for (let i = 0; i < preds.length; i++) if (preds[i]!(r)) return c.forward(r, o.branches[i]);
      });
    },
  },
  {
    type: 'passthrough',
    description: 'Forwards every record unchanged',
    options: noOptions,
    create: () => fnProcessor((r, c) => c.forward(r)),
  },
];
