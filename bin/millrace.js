#!/usr/bin/env node
// The `millrace` command: runs the TypeScript sources through tsx (no build step).
import v8 from 'node:v8';
import { register } from 'tsx/esm/api';

// How far V8 lets the old generation grow past what survived the last full collection
// before it collects again. Left to itself V8 allows up to 4× on a machine with this much
// memory; a stream processor promotes most of its short-lived records (a fetch outlives
// several young collections), so that headroom was most of the instance's RSS. V8 reads
// the flag at every full collection, so setting it here takes effect; NODE_OPTIONS
// cannot carry it. 0 leaves V8's own heuristic.
const growing = process.env.MILLRACE_HEAP_GROWING_PERCENT || '75';
if (!/^\d+$/.test(growing) || Number(growing) > 300) {
  process.stderr.write(
    `millrace: MILLRACE_HEAP_GROWING_PERCENT must be a whole number from 0 to 300 (0 leaves V8's default), got "${growing}"\n`,
  );
  process.exit(2);
}
if (growing !== '0') v8.setFlagsFromString(`--heap-growing-percent=${growing}`);

register();
const { main } = await import('../cli/main.ts');
await import('../cli/commands/index.ts');
const code = await main(process.argv.slice(2));
process.exitCode = code;
// A command is done when main returns; do not wait on stray client sockets.
setTimeout(() => process.exit(code), 500).unref();
