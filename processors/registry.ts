/**
 * Processor types by name: the built-ins and the ones users register. A definition
 * declares its options (a zod schema, so bad options fail at build with the option
 * named), the stores it needs, and how to create an instance.
 *
 * ```ts
 * registerProcessor({
 *   type: 'uppercase',
 *   description: 'Upper-cases string values',
 *   options: z.object({}).strict(),
 *   create: () => ({ init(ctx) { this.ctx = ctx }, process(r) { this.ctx.forward({ ...r, value: String(r.value).toUpperCase() }) } }),
 * });
 * ```
 */
import { z } from 'zod';
import {
  setDefaultCatalog,
  type Json,
  type ProcessorCatalog,
  type ProcessorTypeInfo,
  type StoreSpec,
} from '../topology/index.js';
import type { Processor } from './api.js';

export interface ProcessorDefinition<O = any> {
  type: string;
  description: string;
  options: z.ZodType<O>;
  /** Stores the type needs (declared automatically when a topology file omits them). */
  stores?(options: O, node: string): StoreSpec[];
  /** True when the type changes record keys. */
  changesKey?: boolean;
  /** A new instance for one task. `inline` is the builder's function(s) for inline nodes. */
  create(options: O, inline: any): Processor<any, any, any, any>;
}

function formatZod(err: z.ZodError): string {
  return err.issues
    .map((i) => `option ${i.path.join('.') || '(options)'}: ${i.message}`)
    .join('; ');
}

class Registry implements ProcessorCatalog {
  private readonly defs = new Map<string, ProcessorDefinition>();

  register(def: ProcessorDefinition): void {
    this.defs.set(def.type, def);
  }

  definition(type: string): ProcessorDefinition | undefined {
    return this.defs.get(type);
  }

  get(type: string): ProcessorTypeInfo | undefined {
    const def = this.defs.get(type);
    if (!def) return undefined;
    return {
      changesKey: def.changesKey,
      validate: (options: Json) => {
        const r = def.options.safeParse(options ?? {});
        if (!r.success)
          throw new Error(
            `${formatZod(r.error)} — see \`millrace processors\` for the options of "${type}"`,
          );
        return r.data as Json;
      },
      stores: def.stores ? (options: Json, node: string) => def.stores!(options, node) : undefined,
    };
  }

  types(): string[] {
    return [...this.defs.keys()].sort();
  }

  list(): ProcessorDefinition[] {
    return [...this.defs.values()];
  }
}

/** The process-wide registry of processor types; `build()` checks topologies against it. */
export const processorRegistry = new Registry();
setDefaultCatalog(processorRegistry);

export function registerProcessor<O>(def: ProcessorDefinition<O>): void {
  processorRegistry.register(def as ProcessorDefinition);
}
