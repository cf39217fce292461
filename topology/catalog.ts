/**
 * What `build()` asks of the processor types a topology names: are the options right,
 * and which stores does the type need. `processors/` provides the catalog of built-in
 * and registered types; `topology/` knows only this interface.
 */
import type { Json, StoreSpec } from './spec.js';

export interface ProcessorTypeInfo {
  /** Checked (and defaulted) options; throws a message naming the bad option. */
  validate(options: Json, node: string): Json;
  /** Stores the type needs, declared by name with their kind and serdes. */
  stores?(options: Json, node: string): StoreSpec[];
  /** True when the type changes keys (a later stateful step needs a repartition). */
  changesKey?: boolean;
}

export interface ProcessorCatalog {
  get(type: string): ProcessorTypeInfo | undefined;
  types(): string[];
}

let defaultCatalog: ProcessorCatalog | undefined;

/** Installs the catalog used when `build()` is given none (processors/ does this on import). */
export function setDefaultCatalog(c: ProcessorCatalog): void {
  defaultCatalog = c;
}

export function getDefaultCatalog(): ProcessorCatalog | undefined {
  return defaultCatalog;
}
