/**
 * DuckDB-specific behaviour of the sink (the shared contract runs in
 * test/integration/warehouse-contract.test.ts): the file survives close and reopen, one
 * writer per file, clear errors for calls out of order.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DuckDbSink } from './duckdb-sink.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'millrace-duckdb-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const trade = {
  uuid: 'u',
  trade_conditions: null,
  price: 1.5,
  symbol: 'AAPL',
  trade_timestamp: 1_700_000_000_123,
  ingest_timestamp: 1_700_000_000_200,
  volume: 3,
  type: 'trade',
};

describe('DuckDbSink', () => {
  it('runs DuckDB with one thread and a 64MB checkpoint threshold unless told otherwise; a bad value names the field', async () => {
    const settings = async (sink: DuckDbSink) => {
      await sink.open();
      const rows = await (
        sink as unknown as { select(sql: string): Promise<Array<Record<string, unknown>>> }
      ).select(
        "SELECT current_setting('threads') AS threads, current_setting('checkpoint_threshold') AS cp",
      );
      await sink.close();
      return { threads: Number(rows[0]!.threads), cp: String(rows[0]!.cp) };
    };
    const d = await settings(new DuckDbSink({ path: path.join(tmp, 'settings-a.duckdb') }));
    expect(d.threads).toBe(1);
    expect(d.cp).toBe('61.0 MiB'); // 64 MB, as DuckDB prints it
    const c = await settings(
      new DuckDbSink({
        path: path.join(tmp, 'settings-b.duckdb'),
        threads: 2,
        checkpointThreshold: '256MB',
      }),
    );
    expect(c.threads).toBe(2);
    expect(() => new DuckDbSink({ path: ':memory:', threads: 0 })).toThrow(
      /duckdb\.threads: .*at least 1/,
    );
    expect(() => new DuckDbSink({ path: ':memory:', checkpointThreshold: 'lots' })).toThrow(
      /duckdb\.checkpointThreshold: write a size such as 64MB/,
    );
  });

  it('keeps rows and offsets in the file across close and reopen (creating its folder)', async () => {
    const file = path.join(tmp, 'nested', 'dir', 'millrace.duckdb');
    const first = new DuckDbSink({ path: file });
    await first.open();
    await first.ensureSchema();
    await first.writeBatch(
      's',
      [{ table: 'trades', rows: [trade] }],
      new Map([['trades.raw:2', 8]]),
    );
    await first.close();
    await first.close();
    expect(fs.readdirSync(path.dirname(file))).toEqual(['millrace.duckdb']); // checkpointed: no WAL left
    const again = new DuckDbSink({ path: file });
    await again.open();
    await again.ensureSchema();
    expect(await again.readOffsets('s')).toEqual(new Map([['trades.raw:2', 8]]));
    expect(await again.readRows('trades')).toEqual([trade]);
    await again.close();
  });

  it('refuses a second sink on a file already open in this process', async () => {
    const file = path.join(tmp, 'twice.duckdb');
    const a = new DuckDbSink({ path: file });
    await a.open();
    await expect(new DuckDbSink({ path: file }).open()).rejects.toMatchObject({
      code: 'SINK_UNAVAILABLE',
      message: expect.stringMatching(/already open in this process/),
    });
    await a.close();
    const b = new DuckDbSink({ path: file });
    await b.open();
    await b.close();
  });

  it('says another process holds the file when DuckDB cannot lock it', async () => {
    const file = path.join(tmp, 'locked.duckdb');
    const api = createRequire(import.meta.url).resolve('@duckdb/node-api');
    const holder = spawn(
      process.execPath,
      [
        '-e',
        `require(${JSON.stringify(api)}).DuckDBInstance.create(${JSON.stringify(file)}).then((db) => { globalThis.db = db; setInterval(() => {}, 1000); console.log('ready'); })`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    try {
      await new Promise<void>((resolve, reject) => {
        holder.stdout.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
        holder.once('exit', () => reject(new Error('lock holder exited early')));
      });
      await expect(new DuckDbSink({ path: file }).open()).rejects.toMatchObject({
        code: 'SINK_UNAVAILABLE',
        message: expect.stringMatching(/another process has the file open/),
      });
    } finally {
      holder.kill();
    }
  });

  it('explains calls out of order and bad config', async () => {
    const sink = new DuckDbSink({ path: ':memory:' });
    await expect(sink.readOffsets('s')).rejects.toMatchObject({
      code: 'SINK_NOT_OPEN',
      message: expect.stringMatching(/call open\(\) first/),
    });
    await sink.open();
    await expect(
      sink.writeBatch('s', [{ table: 'trades', rows: [trade] }], new Map()),
    ).rejects.toMatchObject({
      code: 'SINK_NOT_OPEN',
      message: expect.stringMatching(/call ensureSchema\(\) before writeBatch/),
    });
    await sink.close();
    expect(() => new DuckDbSink({ path: '', dedupeKey: 'uuid' as never })).toThrow(
      /duckdb\.path: .* — set it to a file path[\s\S]*duckdb\.dedupeKey: .* — use "symbol\+timestamp" or "content"/,
    );
  });
});
