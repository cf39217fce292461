import { describe } from '../../topology/index.js';
import { parseArgs } from '../args.js';
import { EXIT } from '../errors.js';
import { loadTopology } from '../load.js';
import type { Command } from '../command.js';

export const describeCommand: Command = {
  name: 'describe',
  summary:
    'Print a topology as text (sub-topologies, sources, processors, stores, sinks, internal topics)',
  usage: 'millrace describe <topology.yaml | app folder> [--app-id ID]',
  async run(argv) {
    const a = parseArgs(argv, { values: ['app-id'] });
    if (a.flags.help || a.positionals.length !== 1) return this.help();
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
