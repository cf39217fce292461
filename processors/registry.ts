/**
 * Processor types by name: the built-ins and the ones users register. A definition
 * declares its options (a zod schema, so bad options fail at build with the option
 * named), the stores it needs (typed, by role), its named outputs, and how to create an
 * instance for a task.
 *
 * ```ts
 * registerProcessor(
 *   defineProcessor({
 *     type: 'dedupe',
 *     description: 'Drops records whose key was seen in the last retentionMs',
 *     options: z.object({ retentionMs: z.number().int().positive().default(600_000) }).strict(),
 *     stores: (o, node) => ({
 *       seen: windowStoreSpec<string, number>({ name: `${node}-seen`, retentionMs: o.retentionMs }),
 *     }),
 *     outputs: ['duplicates'],
 *     create: (o) => {
 *       let ctx: ProcessorContext<string, unknown, { seen: WindowStore<string, number> }>;
 *       return {
 *         init: (c) => void (ctx = c),
 *         process: (r) => {
 *           if (ctx.stores.seen.fetch(r.key, r.timestamp) !== undefined) ctx.forward(r, 'duplicates');
 *           else (ctx.stores.seen.put(r.key, 1, r.timestamp), ctx.forward(r));
 *         },
 *       };
 *     },
 *   }),
 * );
 * ```
 */
import type { z } from 'zod';
import type { KeyValueStore, WindowStore } from '../state/api.js';
import {
  setDefaultCatalog,
  typeInfo,
  type DeclaredStores,
  type OutputsOf,
  type ProcessorCatalog,
  type ProcessorTypeDefinition,
  type ProcessorTypeInfo,
  type StoreSpec,
} from '../topology/index.js';
import type { Processor } from './api.js';

/**
 * A processor of any record types, as the registry holds it. (`Processor`'s methods take
 * their records as method parameters, so a processor of specific types is one of these.)
 */
export type AnyProcessor<S = Record<string, unknown>> = Processor<never, never, never, never, S>;

/** A store spec that remembers the typed store a processor gets for it. */
export type StoreDecl<T> = StoreSpec & { readonly __store?: T };

/** The typed stores a processor's context holds for declarations `D` (role → store). */
export type StoresOf<D> =
  D extends Record<string, StoreSpec>
    ? { [R in keyof D]: D[R] extends StoreDecl<infer T> ? T : unknown }
    : Record<string, unknown>;

type StoreFields = Partial<Omit<StoreSpec, 'name' | 'kind'>> & { name: string };

/** What a declared store is unless it says otherwise. */
const STORE_DEFAULTS = {
  keySerde: 'string',
  valueSerde: 'json',
  logged: true,
  cache: true,
} as const;

/**
 * Declares a key-value store of `K` → `V` (defaults: string keys, json values, logged,
 * cached). Use it in a definition's `stores` so the processor gets `KeyValueStore<K, V>`.
 */
export function keyValueStoreSpec<K, V>(s: StoreFields): StoreDecl<KeyValueStore<K, V>> {
  return { ...STORE_DEFAULTS, ...s, kind: 'keyValue' };
}

/**
 * Declares a window store of `K` → `V` (defaults as `keyValueStoreSpec`; `retentionMs` is
 * how long windows are kept, default 1 day). The processor gets `WindowStore<K, V>`.
 */
export function windowStoreSpec<K, V>(s: StoreFields): StoreDecl<WindowStore<K, V>> {
  return { ...STORE_DEFAULTS, ...s, kind: 'window' };
}

/**
 * A processor type. `O` is its (parsed) options, `D` its store declarations. Register it
 * with `registerProcessor`, or hand it to the builder's `process()` directly.
 */
export interface ProcessorDefinition<
  O = unknown,
  D extends DeclaredStores = DeclaredStores,
> extends ProcessorTypeDefinition {
  type: string;
  /** One line saying what the type does (for listings and error messages). */
  description: string;
  /** The options schema; `build()` parses options with it (defaults applied). */
  options: z.ZodType<O>;
  /** Stores the type needs: a list (reached by store name) or a record of roles (typed). */
  stores?(options: O, node: string): D;
  /** Named outputs besides the default (`ctx.forward(record, 'late')`); may depend on options. */
  outputs?: readonly string[] | OutputsOf<O>;
  /** True when the type changes record keys. */
  changesKey?: boolean;
  /**
   * Named counters its processors report (`ctx.metrics.counter(name)`), so an instance can
   * start them at 0 before the first task runs: a metric whose series first appears with a
   * value hides that value from Prometheus' rate() and increase().
   */
  counters?: readonly string[];
  /**
   * A new instance for one task. `inline` is the builder's function(s) for inline nodes
   * (`undefined` for nodes from a topology file): check it before use.
   */
  create(options: O, inline: unknown): AnyProcessor<StoresOf<D>>;
}

/**
 * Identity, for type inference: `options` types `create`'s options, `stores` types
 * `ctx.stores`.
 */
export function defineProcessor<O, D extends DeclaredStores = StoreSpec[]>(
  def: ProcessorDefinition<O, D>,
): ProcessorDefinition<O, D> {
  return def;
}

/** Role → store name for a definition that declares its stores as a record (else empty). */
export function storeRoles(
  def: Pick<ProcessorTypeDefinition, 'stores'>,
  options: unknown,
  node: string,
): Record<string, string> {
  const stores = def.stores as ((o: unknown, n: string) => DeclaredStores) | undefined;
  const d = stores?.call(def, options, node);
  if (!d || Array.isArray(d)) return {};
  return Object.fromEntries(Object.entries(d).map(([role, s]) => [role, s.name]));
}

class Registry implements ProcessorCatalog {
  private readonly defs = new Map<string, ProcessorDefinition>();

  /** Adds (or replaces) a type. */
  register<O, D extends DeclaredStores>(def: ProcessorDefinition<O, D>): void {
    this.defs.set(def.type, def as unknown as ProcessorDefinition);
  }

  definition(type: string): ProcessorDefinition | undefined {
    return this.defs.get(type);
  }

  get(type: string): ProcessorTypeInfo | undefined {
    const def = this.defs.get(type);
    return def && typeInfo(def);
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

/** Makes `def.type` usable by name in builders and topology files of this process. */
export function registerProcessor<O, D extends DeclaredStores>(
  def: ProcessorDefinition<O, D>,
): void {
  processorRegistry.register(def);
}
