#!/usr/bin/env node
// The `millrace` command: runs the TypeScript sources through tsx (no build step).
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../cli/main.ts');
await import('../cli/commands/index.ts');
process.exitCode = await main(process.argv.slice(2));
