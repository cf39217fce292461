/**
 * The functions the TypeScript builder hands to inline nodes, checked where a processor
 * is created: a node from a topology file has none, and a wrong shape is a clear error
 * instead of a TypeError at the first record.
 */

/** `init` and `adder` of an aggregation. */
export interface Fold {
  init: () => unknown;
  adder: (key: unknown, value: unknown, aggregate: unknown) => unknown;
}

const isFn = (x: unknown): x is (...a: never[]) => unknown => typeof x === 'function';

/** The inline function of a `type` node; throws naming the type when there is none. */
export function inlineFn<F extends (...a: never[]) => unknown>(type: string, inline: unknown): F {
  if (!isFn(inline))
    throw new Error(`${type} needs a function: build it with the TypeScript builder`);
  return inline as F;
}

/** The inline field `field` of a `type` node, a function; throws naming both when absent. */
export function inlineField<F extends (...a: never[]) => unknown>(
  type: string,
  inline: unknown,
  field: string,
): F {
  const f = (inline as Record<string, unknown> | null | undefined)?.[field];
  if (!isFn(f))
    throw new Error(`${type} needs the function "${field}": build it with the TypeScript builder`);
  return f as F;
}

/** The `init`/`adder` pair of an aggregation node. */
export function inlineFold(type: string, inline: unknown): Fold {
  return {
    init: inlineField<Fold['init']>(type, inline, 'init'),
    adder: inlineField<Fold['adder']>(type, inline, 'adder'),
  };
}
