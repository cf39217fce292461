/**
 * What `build()` asks of the processor types a topology names: are the options right,
 * which stores does the type need, which named outputs does it have. `processors/`
 * provides the catalog of built-in and registered types; `topology/` knows only these
 * interfaces (a definition's options schema is anything with zod's `safeParse`).
 */
import type { Json, StoreSpec } from './spec.js';

/** The part of a zod schema `build()` uses: `safeParse`, with zod's issue shape. */
export interface OptionsSchema<O = unknown> {
  safeParse(input: unknown):
    | { success: true; data: O }
    | {
        success: false;
        error: { issues: ReadonlyArray<{ path: PropertyKey[]; message: string }> };
      };
}

/**
 * Stores a type declares: a list (processors reach them by store name), or a record of
 * roles (processors reach them as `ctx.stores.<role>`, typed; see `defineProcessor`).
 */
export type DeclaredStores = StoreSpec[] | Record<string, StoreSpec>;

/**
 * Named outputs computed from a type's options. (Written as a method so that a function of
 * narrower options is one too: `build()` calls it with options the type's schema parsed.)
 */
export type OutputsOf<O> = { bivariant(options: O): readonly string[] }['bivariant'];

/**
 * A processor type as `build()` sees it. `processors/`' `ProcessorDefinition` is one; the
 * builder's `process(definition)` accepts any (without registering it globally).
 */
export interface ProcessorTypeDefinition {
  /** The type name written in specs and YAML files, e.g. `dedupe`. */
  type: string;
  /** Options schema (zod); bad options fail `build()` with the option named. */
  options?: OptionsSchema;
  /** Stores the type needs, so changelogs are named before a record flows. */
  stores?(options: never, node: string): DeclaredStores;
  /** Named outputs besides the default one, e.g. `['late']`; children attach as `node:late`. */
  outputs?: readonly string[] | OutputsOf<never>;
  /** True when the type changes record keys (a later stateful step repartitions first). */
  changesKey?: boolean;
  /** A new processor instance for one task (opaque to `topology/`). */
  create(options: never, inline: unknown): unknown;
}

export interface ProcessorTypeInfo {
  /** Checked (and defaulted) options; throws a message naming the bad option. */
  validate(options: Json, node: string): Json;
  /** Stores the type needs, declared by name with their kind and serdes. */
  stores?(options: Json, node: string): StoreSpec[];
  /** Named outputs of a node of this type with these (validated) options. */
  outputs?(options: Json): readonly string[];
  /** True when the type changes keys (a later stateful step needs a repartition). */
  changesKey?: boolean;
}

export interface ProcessorCatalog {
  get(type: string): ProcessorTypeInfo | undefined;
  types(): string[];
}

/** The stores of `def` for `options` as a list, whichever form the definition uses. */
export function declaredStores(
  def: Pick<ProcessorTypeDefinition, 'stores'>,
  options: unknown,
  node: string,
): StoreSpec[] {
  const stores = def.stores as ((o: unknown, n: string) => DeclaredStores) | undefined;
  const d = stores?.call(def, options, node);
  if (!d) return [];
  return Array.isArray(d) ? d : Object.values(d);
}

function formatIssues(issues: ReadonlyArray<{ path: PropertyKey[]; message: string }>): string {
  return issues
    .map((i) => `option ${i.path.map(String).join('.') || '(options)'}: ${i.message}`)
    .join('; ');
}

/** The option names of an object schema (zod's `shape`), for error messages; '' if unknown. */
function optionNames(schema: OptionsSchema): string {
  const shape = (schema as { shape?: unknown }).shape;
  return shape && typeof shape === 'object' ? Object.keys(shape).join(', ') || 'no options' : '';
}

/** How `build()` checks nodes of the type `def` defines. */
export function typeInfo(def: ProcessorTypeDefinition): ProcessorTypeInfo {
  const outputs = def.outputs as readonly string[] | OutputsOf<unknown> | undefined;
  return {
    changesKey: def.changesKey,
    validate: (options: Json) => {
      if (!def.options) return options ?? {};
      const r = def.options.safeParse(options ?? {});
      if (r.success) return r.data as Json;
      const names = optionNames(def.options);
      throw new Error(
        `${formatIssues(r.error.issues)}${names ? ` — "${def.type}" takes ${names}` : ''}`,
      );
    },
    stores: def.stores ? (options, node) => declaredStores(def, options, node) : undefined,
    outputs:
      outputs === undefined ? undefined : typeof outputs === 'function' ? outputs : () => outputs,
  };
}

/** A catalog that looks in `first` (e.g. a builder's own definitions), then in `then`. */
export function overlayCatalog(
  first: ReadonlyMap<string, ProcessorTypeDefinition>,
  then: ProcessorCatalog | undefined,
): ProcessorCatalog | undefined {
  if (first.size === 0) return then;
  return {
    get: (type) => {
      const def = first.get(type);
      return def ? typeInfo(def) : then?.get(type);
    },
    types: () => [...new Set([...first.keys(), ...(then?.types() ?? [])])].sort(),
  };
}

let defaultCatalog: ProcessorCatalog | undefined;

/** Installs the catalog used when `build()` is given none (processors/ does this on import). */
export function setDefaultCatalog(c: ProcessorCatalog): void {
  defaultCatalog = c;
}

/** The catalog `build()` uses by default (the processor registry, once `processors/` is loaded). */
export function getDefaultCatalog(): ProcessorCatalog | undefined {
  return defaultCatalog;
}
