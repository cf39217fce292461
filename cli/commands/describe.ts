import { describe } from '../../topology/index.js';
import { parseArgs } from '../args.js';
import { EXIT, UsageError } from '../errors.js';
import { loadTopology } from '../load.js';
import type { Command } from '../command.js';

export const describeCommand: Command = {
  name: 'describe',
  summary:
    'Print a topology as text (sub-topologies, sources, processors, stores, sinks, internal topics)',
  usage: 'millrace describe <topology.yaml | app.ts | app folder> [--app-id ID]',
  async run(argv) {
    const a = parseArgs(argv, { values: ['app-id'] });
    if (a.flags.help) return this.help();
    if (a.positionals.length !== 1)
      throw new UsageError(
        `${a.positionals.length ? 'one topology at a time' : 'which topology?'} — usage: ${this.usage}`,
      );
    const { topology, name, app } = await loadTopology(a.positionals[0]!);
    process.stdout.write(
      describe(topology, (a.flags['app-id'] as string | undefined) ?? app?.applicationId ?? name),
    );
    return EXIT.ok;
  },
  help() {
    process.stdout.write(
      `${this.usage}\n\n${this.summary}.\n\n  --app-id ID   application id used to name internal topics (default: the app's, or the file name)\n`,
    );
    return EXIT.ok;
  },
};
