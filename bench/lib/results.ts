/**
 * Benchmark results as docs/benchmarks.md describes them: each run writes
 * `bench/results/<bench>-<yyyy-mm-dd>-<short-commit>.json` with the machine and commit,
 * and `bench/results/latest.md` summarises the newest run of each bench.
 */
import { execSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { pairsTable } from './compare.js';

export interface BenchCase {
  case: string;
  guarantee: string | null;
  records: number | null;
  seconds: number | null;
  records_per_s: number | null;
  p50_ms: number | null;
  p99_ms: number | null;
  rss_mib: number | null;
  [extra: string]: unknown;
}

const dir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'results');

function commit(): string {
  try {
    const sha = execSync('git rev-parse --short HEAD', { encoding: 'utf8' }).trim();
    const dirty = execSync('git status --porcelain --untracked-files=no', {
      encoding: 'utf8',
    }).trim()
      ? '-dirty'
      : '';
    return sha + dirty;
  } catch {
    return 'unknown';
  }
}

/**
 * The machine's load averages (1, 5, 15 min) when this module was loaded, i.e. before the
 * bench started anything: the machine is shared, so every results file says how busy it
 * was before and after its run (figures meant as results are taken below a 1-min load of ~0.8).
 */
const loadBefore = os.loadavg();
const loadNow = () => os.loadavg().map((x) => Math.round(x * 100) / 100);

export const rssMib = () => Math.round((process.memoryUsage().rss / 1048576) * 10) / 10;

/** Peak resident set (VmHWM) of a process (this one by default), in MiB; null if it is gone. */
export function peakRssMib(pid: number | 'self' = 'self'): number | null {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Math.round(Number(m[1]) / 102.4) / 10 : null;
  } catch {
    return null;
  }
}

export function percentile(sorted: number[], p: number): number | null {
  if (!sorted.length) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** One case of a bench: a name and how to run it (sequentially, one after the other). */
export interface BenchCaseDef {
  name: string;
  run: () => Promise<BenchCase>;
}

/** A throughput result: `records` done in `seconds`, RSS now, other fields null unless given. */
export function throughput(
  name: string,
  records: number,
  seconds: number,
  extra: Partial<BenchCase> = {},
): BenchCase {
  return {
    case: name,
    guarantee: null,
    records,
    seconds: Math.round(seconds * 1000) / 1000,
    records_per_s: Math.round(records / seconds),
    p50_ms: null,
    p99_ms: null,
    rss_mib: rssMib(),
    ...extra,
  };
}

/**
 * Runs `cases` one after the other, prints each result as it comes, then writes the
 * results file and latest.md (see writeResults). Returns the file written.
 *
 * BENCH_CASES=a,b runs only the cases whose name contains one of the words (for profiling),
 * and then writes no file: a partial run is not a result.
 */
export async function runBench(
  bench: string,
  command: string,
  cases: readonly BenchCaseDef[],
  notes?: string,
): Promise<string | undefined> {
  const only = process.env.BENCH_CASES?.split(',').filter(Boolean);
  const chosen = only ? cases.filter((c) => only.some((w) => c.name.includes(w))) : cases;
  const results: BenchCase[] = [];
  for (const c of chosen) {
    const r = await c.run();
    results.push(r);
    console.log(
      `${r.case}: ${r.records_per_s?.toLocaleString('en-US') ?? '—'} /s (${r.records?.toLocaleString('en-US')} in ${r.seconds} s, RSS ${r.rss_mib} MiB)`,
    );
  }
  if (only) return undefined;
  const file = writeResults(bench, command, results, notes);
  console.log(`wrote ${file}`);
  return file;
}

/**
 * Writes the results file and latest.md. `extra` adds top-level fields (bench:compare's
 * `pairs` and `limits`); `load` (before and after the run) is added to every file.
 */
export function writeResults(
  bench: string,
  command: string,
  results: BenchCase[],
  notes?: string,
  extra: Record<string, unknown> = {},
): string {
  fs.mkdirSync(dir, { recursive: true });
  const date = new Date().toISOString().slice(0, 10);
  const c = commit();
  const doc = {
    bench,
    commit: c,
    date: new Date().toISOString(),
    command,
    machine: {
      cores: os.cpus().length,
      memory_gib: Math.round(os.totalmem() / 2 ** 30),
      node: process.version,
      cpu: os.cpus()[0]?.model ?? null,
    },
    load: {
      before: loadBefore.map((x) => Math.round(x * 100) / 100),
      after: loadNow(),
      note: '1, 5 and 15 min load averages of the machine (shared by several people) before the bench started and when it wrote this file (its own work included)',
    },
    ...extra,
    results,
    ...(notes ? { notes } : {}),
  };
  const file = path.join(dir, `${bench}-${date}-${c.replace('-dirty', '')}.json`);
  fs.writeFileSync(file, JSON.stringify(doc, null, 2) + '\n');
  writeLatest();
  return file;
}

export function writeLatest(): void {
  const newest = new Map<string, any>();
  for (const f of fs.readdirSync(dir).filter((x) => x.endsWith('.json'))) {
    const doc = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'));
    const prev = newest.get(doc.bench);
    if (!prev || prev.date < doc.date) newest.set(doc.bench, doc);
  }
  const fmt = (v: unknown) =>
    v === null || v === undefined
      ? '—'
      : typeof v === 'number'
        ? Number.isInteger(v)
          ? v.toLocaleString('en-US')
          : v.toFixed(2)
        : String(v);
  const out = [
    '# Latest benchmark results',
    '',
    'Newest run of each bench (generated by bench/lib/results.ts; full files beside this one).',
    '',
  ];
  for (const doc of [...newest.values()].sort((a, b) => a.bench.localeCompare(b.bench))) {
    out.push(
      `## ${doc.bench}`,
      '',
      `\`${doc.command}\` — commit ${doc.commit}, ${doc.date.slice(0, 16)}Z, ${doc.machine.cores} cores${doc.machine.cpu ? ` (${doc.machine.cpu})` : ''}, ${doc.machine.memory_gib} GiB, Node ${doc.machine.node}`,
      '',
    );
    if (doc.load)
      out.push(
        `Load averages (1/5/15 min) before: ${doc.load.before.join(' / ')}, after: ${doc.load.after.join(' / ')}`,
        '',
      );
    if (doc.pairs) {
      // bench:compare: the pairs and their ratios (each run is in the file).
      out.push(...pairsTable(doc.pairs, doc.limits ?? undefined));
      if (doc.notes) out.push('', doc.notes);
      out.push('');
      continue;
    }
    out.push(
      '| case | guarantee | records | seconds | records/s | p50 ms | p99 ms | RSS MiB |',
      '|---|---|---|---|---|---|---|---|',
    );
    for (const r of doc.results)
      out.push(
        `| ${r.case} | ${fmt(r.guarantee)} | ${fmt(r.records)} | ${fmt(r.seconds)} | ${fmt(r.records_per_s)} | ${fmt(r.p50_ms)} | ${fmt(r.p99_ms)} | ${fmt(r.rss_mib)} |`,
      );
    if (doc.notes) out.push('', doc.notes);
    out.push('');
  }
  fs.writeFileSync(path.join(dir, 'latest.md'), out.join('\n'));
}
