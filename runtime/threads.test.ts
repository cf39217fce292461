/**
 * StreamThreads without a broker: how it fails when a thread cannot start, and that each
 * thread gets its index, the thread count and a config of one thread. (Threads running
 * against Kafka: test/integration/stream-threads.test.ts and the e2e *-2-threads tests.)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { StreamThreads } from './threads.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'millrace-threads-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function module(name: string, code: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, code);
  return pathToFileURL(file).href;
}

const config = (n: number) => ({
  applicationId: 'threads-test',
  bootstrapServers: '127.0.0.1:1',
  numStreamThreads: n,
  stateDir: path.join(dir, 'state'),
});

describe('StreamThreads', () => {
  it('fails to start, naming the thread and the cause, when a thread module throws', async () => {
    const m = module(
      'throws.mjs',
      `export function startThread(ctx) {
         throw new Error('no topology in thread ' + ctx.thread + ' of ' + ctx.threads + ', config threads ' + ctx.config.numStreamThreads);
       }`,
    );
    const threads = new StreamThreads({ module: m }, config(2));
    await expect(threads.start()).rejects.toThrow(
      /stream thread \d failed: .*no topology in thread \d of 2, config threads 1/,
    );
    expect(threads.state).toBe('failed');
  });

  it('says what a thread module must export', async () => {
    const m = module('empty.mjs', `export const nothing = 1;`);
    const threads = new StreamThreads({ module: m }, config(2));
    await expect(threads.start()).rejects.toThrow(/does not export startThread\(ctx\)/);
  });

  it('a StreamsApp asked for more than one thread points to how to run them', async () => {
    const { StreamsApp } = await import('./app.js');
    const app = new StreamsApp(
      {
        subtopologies: () => [],
        internalTopics: () => [],
        outputTopics: () => [],
        createEngine: () => Promise.reject(new Error('unused')),
        checkpoint: () => {
          throw new Error('unused');
        },
      },
      config(3),
    );
    await expect(app.start()).rejects.toThrow(/--num-stream-threads 3.*StreamThreads/);
  });
});
