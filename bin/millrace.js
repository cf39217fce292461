#!/usr/bin/env node
// The `millrace` command: runs the TypeScript sources through tsx (no build step).
import { register } from 'tsx/esm/api';
import { applyHeapGrowing } from './heap.js';

const heapError = applyHeapGrowing();
if (heapError) {
  process.stderr.write(`millrace: ${heapError}\n`);
  process.exit(2);
}

register();
const { main } = await import('../cli/main.ts');
await import('../cli/commands/index.ts');
const code = await main(process.argv.slice(2));
process.exitCode = code;
// A command is done when main returns; do not wait on stray client sockets.
setTimeout(() => process.exit(code), 500).unref();
