#!/usr/bin/env node
// The `millrace` command. Installed from the package, it runs the compiled JavaScript in
// dist/ with plain node. In the repository (the TypeScript sources are beside it) it runs
// the sources through tsx instead, so developing needs no build step; MILLRACE_BUILT=1
// runs dist/ there too, as an installed package does (the benchmarks, after `npm run build`).
import fs from 'node:fs';
import { applyHeapGrowing } from './heap.js';

// A reader that stops early (`millrace --help | head -3`) closes the pipe: end quietly, as
// command-line tools do, instead of dying of an unhandled EPIPE with a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err) => {
    if (err.code !== 'EPIPE') throw err;
    process.exit(typeof process.exitCode === 'number' ? process.exitCode : 0);
  });
}

const heapError = applyHeapGrowing();
if (heapError) {
  process.stderr.write(`millrace: ${heapError}\n`);
  process.exit(2);
}

const built = process.env.MILLRACE_BUILT === '1';
if (built && !fs.existsSync(new URL('../dist/cli/main.js', import.meta.url))) {
  process.stderr.write(
    'millrace: MILLRACE_BUILT=1 runs dist/, which is not built: run npm run build\n',
  );
  process.exit(2);
}
const sources = !built && fs.existsSync(new URL('../cli/main.ts', import.meta.url));
let cli;
if (sources) {
  const { register } = await import('tsx/esm/api');
  register();
  cli = await import('../cli/main.ts');
  (await import('../cli/ts-loader.ts')).typeScriptLoaderRegistered();
} else {
  cli = await import('../dist/cli/main.js');
}
const code = await cli.main(process.argv.slice(2));
process.exitCode = code;
// A command is done when main returns; do not wait on stray client sockets.
setTimeout(() => process.exit(code), 500).unref();
