import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseFrame } from './messages.js';
import { ReplaySource } from './replay.js';
import { MemorySink } from './sink.js';
import { syntheticFeed } from './synthetic.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'millrace-replay-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function record(name: string, frames: number, rate: number): { file: string; texts: string[] } {
  const texts: string[] = [];
  for (const f of syntheticFeed({ seed: 3, rate, eventsPerFrame: 2 })) {
    if (texts.length >= frames) break;
    texts.push(f.text);
  }
  const file = path.join(dir, name);
  fs.writeFileSync(file, texts.join('\n') + '\n\n{"type":"ping"}\n');
  return { file, texts };
}

describe('replay of a JSONL recording', () => {
  it('at max speed hands over every line: trades split by symbol, bad lines as dead letters', async () => {
    const { file, texts } = record('max.jsonl', 3000, 1000);
    const sink = new MemorySink();
    const summary = await new ReplaySource({ file, speed: 'max', sink, now: () => 42 }).run();
    const want = texts.map((t) => parseFrame(t, 42));
    expect(sink.messages).toEqual(want.flatMap((p) => (p.kind === 'trades' ? p.messages : [])));
    const bad = texts.filter((_, i) => want[i]!.kind === 'reject');
    expect(bad.length).toBeGreaterThan(0);
    expect(sink.deadLetters.map((d) => d.bytes.toString())).toEqual(bad);
    expect(
      sink.deadLetters.every((d) => d.source === 'replay' && d.reason && d.timestamp === 42),
    ).toBe(true);
    expect(summary).toMatchObject({ frames: 3001, pings: 1, deadLettered: bad.length });
  });

  it('keeps the recording pace, divided by the speed', async () => {
    // 400 trades at 1000/s of event time: ~0.4 s as recorded, ~0.1 s at speed 4.
    const { file } = record('paced.jsonl', 200, 1000);
    const sink = new MemorySink();
    const t0 = Date.now();
    await new ReplaySource({ file, speed: 4, sink }).run();
    const took = Date.now() - t0;
    const ts = sink.messages.flatMap((m) => m.data.map((d) => d.t));
    const spanMs = Math.max(...ts.slice(0, -5)) - ts[0]!;
    expect(took).toBeGreaterThan(spanMs / 4 - 30);
    expect(took).toBeLessThan(spanMs / 4 + 400);
  });

  it('stops on abort and says so when the file is missing', async () => {
    const { file } = record('slow.jsonl', 100, 10);
    const sink = new MemorySink();
    const source = new ReplaySource({ file, sink });
    const summary = await source.run(AbortSignal.timeout(150));
    expect(summary.frames).toBeLessThan(10);
    await expect(
      new ReplaySource({ file: path.join(dir, 'nope.jsonl'), sink }).run(),
    ).rejects.toThrow(/does not exist/);
    expect(() => new ReplaySource({ file, sink, speed: 0 })).toThrow(/not positive/);
  });
});
