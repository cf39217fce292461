/**
 * `npm run bench:sink`: the DuckDB sink's warehouse writes alone, no Kafka — BENCH_ROWS
 * (default 400 000) trade rows upserted through `DuckDbSink.writeBatch` in batches of
 * BENCH_BATCH (default 5 000, the sink's default), each batch with its offsets in one
 * DuckDB transaction, into a fresh file. Cases: the sink's settings (one DuckDB thread, a
 * 64MB checkpoint threshold) and DuckDB's own defaults (a thread per core, 16MB), so the
 * defaults the sink chose are measured, not assumed. Reports rows/s and the process CPU
 * seconds the writes took (DuckDB's threads included), one case per child process. A third
 * case times a replay: the same rows again onto a table that holds them (upserts that update).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeResults, type BenchCase } from './lib/results.js';

const ROWS = Number(process.env.BENCH_ROWS ?? 400_000);
const BATCH = Number(process.env.BENCH_BATCH ?? 5000);
const self = fileURLToPath(import.meta.url);

interface Settings {
  name: string;
  threads?: number;
  checkpointThreshold?: string;
  /** Write every row once untimed first: the timed pass then updates existing keys (a replay). */
  replay?: boolean;
}

/** Runs in the child: writes the rows, prints one JSON line. */
async function child(s: Settings): Promise<void> {
  const { DuckDbSink } = await import('../connectors/duckdb/index.js');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'millrace-bench-sink-'));
  const sink = new DuckDbSink({
    path: path.join(dir, 'bench.duckdb'),
    ...(s.threads ? { threads: s.threads } : {}),
    ...(s.checkpointThreshold ? { checkpointThreshold: s.checkpointThreshold } : {}),
  });
  await sink.open();
  await sink.ensureSchema();
  const symbols = Array.from({ length: 50 }, (_, i) => `SYM${i}`);
  const writeAll = async () => {
    let ts = Date.UTC(2026, 0, 1);
    for (let i = 0; i < ROWS; i += BATCH) {
      const rows = [];
      for (let j = i; j < Math.min(ROWS, i + BATCH); j++) {
        ts += 1;
        rows.push({
          uuid: `${j.toString(16).padStart(8, '0')}-0000-4000-8000-000000000000`,
          trade_conditions: j % 3 ? '1,12' : null,
          price: 100 + (j % 997) / 10,
          symbol: symbols[j % 50]!,
          trade_timestamp: ts,
          ingest_timestamp: ts + 7,
          volume: (j % 13) + 0.5,
          type: 'trade',
        });
      }
      await sink.writeBatch('bench', [{ table: 'trades', rows }], new Map([['t:0', i + BATCH]]));
    }
  };
  if (s.replay) await writeAll();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await writeAll();
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(c0);
  const written = (await sink.readRows('trades')).length;
  await sink.close();
  fs.rmSync(dir, { recursive: true, force: true });
  process.stdout.write(
    JSON.stringify({ seconds, cpu_s: (cpu.user + cpu.system) / 1e6, written }) + '\n',
  );
}

const cases: Settings[] = [
  { name: "the sink's settings (1 DuckDB thread, checkpoint at 64MB)" },
  {
    name: `DuckDB's defaults (${os.cpus().length} threads, checkpoint at 16MB)`,
    threads: os.cpus().length,
    checkpointThreshold: '16MB',
  },
  {
    name: "the sink's settings, a replay: every key already in the table (the rows updated)",
    replay: true,
  },
];

if (process.env.BENCH_SINK_CHILD) {
  await child(JSON.parse(process.env.BENCH_SINK_CHILD) as Settings);
} else {
  const results: BenchCase[] = [];
  for (const s of cases) {
    const r = spawnSync(process.execPath, ['--import', 'tsx', self], {
      env: { ...process.env, BENCH_SINK_CHILD: JSON.stringify(s) },
      encoding: 'utf8',
    });
    if (r.status !== 0) throw new Error(`case ${s.name} failed: ${r.stderr}`);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as {
      seconds: number;
      cpu_s: number;
      written: number;
    };
    if (out.written !== ROWS) throw new Error(`${s.name}: ${out.written} rows of ${ROWS}`);
    const c: BenchCase = {
      case: `DuckDB sink upserts, ${s.name}`,
      guarantee: null,
      records: ROWS,
      seconds: Math.round(out.seconds * 1000) / 1000,
      records_per_s: Math.round(ROWS / out.seconds),
      p50_ms: null,
      p99_ms: null,
      rss_mib: null,
      cpu_seconds: Math.round(out.cpu_s * 100) / 100,
      batch_rows: BATCH,
    };
    process.stderr.write(`[bench:sink] ${JSON.stringify(c)}\n`);
    results.push(c);
  }
  const file = writeResults(
    'sink',
    'npm run bench:sink',
    results,
    `${ROWS} trade rows upserted in batches of ${BATCH} (rows and offsets in one DuckDB transaction each) into a fresh file; cpu_seconds is the process CPU of the writes, DuckDB's threads included. No Kafka.`,
  );
  process.stderr.write(`[bench:sink] wrote ${file}\n`);
}
