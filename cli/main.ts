/**
 * The `millrace` command. Each sub-command lives in cli/commands/<name>.ts and prints
 * its own `--help`. Exit codes: 0 ok, 2 user error (bad config or flag), 3 a server
 * unreachable, 1 internal.
 */
import { describeCommand } from './commands/describe.js';
import { diagramCommand } from './commands/diagram.js';
import { runCommand } from './commands/run.js';
import { ingestCommand } from './commands/ingest.js';
import { sinkCommand } from './commands/sink.js';
import { demoCommand } from './commands/demo.js';
import { statusCommand } from './commands/status.js';
import { resetCommand } from './commands/reset.js';
import { queryCommand } from './commands/query.js';
import type { Command } from './command.js';
import { EXIT, exitCodeFor } from './errors.js';

export const commands: Command[] = [
  runCommand,
  ingestCommand,
  sinkCommand,
  demoCommand,
  describeCommand,
  diagramCommand,
  statusCommand,
  queryCommand,
  resetCommand,
];

export function register(cmd: Command): void {
  commands.push(cmd);
}

function usage(): number {
  const w = Math.max(...commands.map((c) => c.name.length));
  process.stdout.write(
    `millrace — Kafka Streams-style stream processing for Node.js\n\nusage: millrace <command> [options]   (millrace <command> --help for details)\n\n`,
  );
  for (const c of commands) process.stdout.write(`  ${c.name.padEnd(w)}  ${c.summary}\n`);
  return EXIT.ok;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') return usage();
  const cmd = commands.find((c) => c.name === name);
  if (!cmd) {
    process.stderr.write(
      `millrace: unknown command "${name}"; commands: ${commands.map((c) => c.name).join(', ')}\n`,
    );
    return EXIT.user;
  }
  try {
    return await cmd.run(rest);
  } catch (err) {
    process.stderr.write(`millrace ${name}: ${(err as Error)?.message ?? String(err)}\n`);
    return exitCodeFor(err);
  }
}

const isEntry = process.argv[1] && /cli[\\/]main\.[tj]s$/.test(process.argv[1]);
if (isEntry) {
  await import('./commands/index.js').catch(() => {});
  process.exitCode = await main(process.argv.slice(2));
}
