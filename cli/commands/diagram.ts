import fs from 'node:fs';
import { toDot, toJson, toMermaid, toSvg } from '../../topology/index.js';
import { parseArgs } from '../args.js';
import { EXIT, UsageError } from '../errors.js';
import { loadTopology } from '../load.js';
import type { Command } from '../command.js';

const FORMATS = ['mermaid', 'dot', 'svg', 'png', 'json'] as const;

async function render(
  format: string,
  topology: Parameters<typeof toDot>[0],
  app: string,
): Promise<string | Buffer> {
  if (format === 'mermaid') return toMermaid(topology, app);
  if (format === 'dot') return toDot(topology, app);
  if (format === 'json') return toJson(topology, app);
  const svg = await toSvg(topology, app);
  if (format === 'svg') return svg;
  const { Resvg } = await import('@resvg/resvg-js');
  return Buffer.from(
    new Resvg(svg, {
      fitTo: { mode: 'zoom', value: 2 },
      background: 'white',
      font: { loadSystemFonts: true },
    })
      .render()
      .asPng(),
  );
}

export const diagramCommand: Command = {
  name: 'diagram',
  summary:
    'Draw a topology as Mermaid, Graphviz DOT, SVG, PNG or JSON (rendered in-process, no external binary)',
  usage:
    'millrace diagram <topology.yaml | app.ts | app folder> --format mermaid|dot|svg|png|json [--out FILE] [--app-id ID]',
  async run(argv) {
    const a = parseArgs(argv, { values: ['format', 'out', 'app-id'] });
    if (a.flags.help) return this.help();
    if (a.positionals.length !== 1)
      throw new UsageError(
        `${a.positionals.length ? 'one topology at a time' : 'which topology?'} — usage: ${this.usage}`,
      );
    const format = (a.flags.format as string | undefined) ?? 'mermaid';
    if (!(FORMATS as readonly string[]).includes(format))
      throw new UsageError(`--format ${format} is not one of ${FORMATS.join(', ')}`);
    const { topology, name, app } = await loadTopology(a.positionals[0]!);
    const out = await render(
      format,
      topology,
      (a.flags['app-id'] as string | undefined) ?? app?.applicationId ?? name,
    );
    if (typeof a.flags.out === 'string') {
      fs.writeFileSync(a.flags.out, out);
      process.stderr.write(`wrote ${a.flags.out}\n`);
    } else if (format === 'png') {
      throw new UsageError('--format png needs --out FILE');
    } else process.stdout.write(out);
    return EXIT.ok;
  },
  help() {
    process.stdout.write(
      `${this.usage}\n\n${this.summary}.\n\n  --format F    ${FORMATS.join(' | ')} (default mermaid)\n  --out FILE    write to FILE instead of stdout (required for png)\n  --app-id ID   application id used to name internal topics\n`,
    );
    return EXIT.ok;
  },
};
