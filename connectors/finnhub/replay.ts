/**
 * Replays a JSONL file of Finnhub messages (one WebSocket frame per line, as received) at
 * their original pace — by the trades' own timestamps —, faster (`speed: 10`) or as fast
 * as the sink takes them (`speed: 'max'`). Lines that are not valid Finnhub messages go to
 * the dead-letter topic like bad frames off the wire; blank lines are skipped.
 *
 * @example await new ReplaySource({ file: 'trades-2026-01-05.jsonl', speed: 10, sink }).run()
 */
import fs from 'node:fs';
import readline from 'node:readline';
import { DispatchingSource } from './dispatch.js';
import { FinnhubError } from './errors.js';
import { parseFrame, type Parsed } from './messages.js';
import type { SourceOptions, SourceSummary } from './source.js';
import { sleep, yieldToEventLoop } from './timing.js';

export interface ReplaySourceOptions extends SourceOptions {
  /** Path of the JSONL file. */
  file: string;
  /** 1 (default) = original pace; 10 = ten times faster; `max` = no waiting. */
  speed?: number | 'max';
}

export class ReplaySource extends DispatchingSource {
  constructor(private readonly o: ReplaySourceOptions) {
    super('replay', o);
    const speed = o.speed ?? 1;
    if (speed !== 'max' && !(speed > 0))
      throw new FinnhubError(
        `replay speed ${speed} is not positive; use e.g. --speed 10 or --speed max`,
        {
          code: 'CONFIG_INVALID',
          domain: 'user',
        },
      );
  }

  async run(signal?: AbortSignal): Promise<SourceSummary> {
    const input = this.open();
    const lines = readline.createInterface({ input, crlfDelay: Infinity });
    const clock = { wallStart: this.now(), first: NaN };
    try {
      for await (const line of lines) {
        if (signal?.aborted) break;
        if (!line.trim()) continue;
        const parsed = parseFrame(line, 0);
        await this.wait(parsed, clock, signal);
        if (signal?.aborted) break;
        const ingestTs = this.now();
        if (parsed.kind === 'trades')
          for (const m of parsed.messages) m.ingest_timestamp = ingestTs;
        await this.dispatcher.deliver(parsed, Buffer.from(line, 'utf8'), ingestTs);
      }
    } finally {
      lines.close();
      input.destroy();
    }
    return this.summary;
  }

  private open(): fs.ReadStream {
    if (!fs.existsSync(this.o.file))
      throw new FinnhubError(
        `replay file ${this.o.file} does not exist; pass a JSONL file of Finnhub messages with --file`,
        {
          code: 'REPLAY_FILE_MISSING',
          domain: 'user',
        },
      );
    return fs.createReadStream(this.o.file);
  }

  /** Sleeps until the wall clock reaches this frame's place in the recording. */
  private async wait(
    parsed: Parsed,
    clock: { wallStart: number; first: number },
    signal?: AbortSignal,
  ): Promise<void> {
    const speed = this.o.speed ?? 1;
    if (speed === 'max') {
      if (this.summary.frames % 512 === 0) await yieldToEventLoop();
      return;
    }
    if (parsed.kind !== 'trades') return;
    let t = -Infinity;
    for (const m of parsed.messages) for (const d of m.data) if (d.t > t) t = d.t;
    if (Number.isNaN(clock.first)) clock.first = t;
    const due = clock.wallStart + (t - clock.first) / speed;
    await sleep(due - this.now(), signal);
  }
}
