// How far V8 lets the old generation grow past what survived the last full collection
// before it collects again. Left to itself V8 allows up to 4× on a machine with this much
// memory; a stream processor promotes most of its short-lived records (a fetch outlives
// several young collections), so that headroom was most of the instance's RSS. V8 reads
// the flag at every full collection, so setting it at start-up takes effect; NODE_OPTIONS
// cannot carry it. MILLRACE_HEAP_GROWING_PERCENT: 0 leaves V8's own heuristic.
import v8 from 'node:v8';

/** Applies MILLRACE_HEAP_GROWING_PERCENT (default 50); returns an error message if it is invalid. */
export function applyHeapGrowing(env = process.env) {
  const growing = env.MILLRACE_HEAP_GROWING_PERCENT || '50';
  if (!/^\d+$/.test(growing) || Number(growing) > 300)
    return `MILLRACE_HEAP_GROWING_PERCENT must be a whole number from 0 to 300 (0 leaves V8's default), got "${growing}"`;
  if (growing !== '0') v8.setFlagsFromString(`--heap-growing-percent=${growing}`);
  return undefined;
}
