/**
 * A real Prometheus server for tests: Debian's `prometheus` binary on 127.0.0.1 and a free
 * port, scraping the given jobs every second, with its data in a temporary directory.
 * Stopped by pid (SIGTERM, SIGKILL after 10 s); the directory is removed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './observed-instance.js';

export interface PrometheusServer {
  /** e.g. http://127.0.0.1:40123 */
  url: string;
  /** The last 4,000 characters Prometheus logged. */
  log(): string;
  stop(): Promise<void>;
}

/** Scrape interval of every job, ms. */
export const SCRAPE_INTERVAL_MS = 1000;

/** Starts `binary` scraping `jobs` (job name → host:port targets); resolves once it is ready. */
export async function startPrometheus(
  binary: string,
  jobs: Record<string, string[]>,
): Promise<PrometheusServer> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'millrace-prometheus-'));
  const config = path.join(dataDir, 'prometheus.yml');
  const every = `${SCRAPE_INTERVAL_MS / 1000}s`;
  fs.writeFileSync(
    config,
    [
      'global:',
      `  scrape_interval: ${every}`,
      `  evaluation_interval: ${every}`,
      'scrape_configs:',
      ...Object.entries(jobs).flatMap(([job, targets]) => [
        `  - job_name: ${job}`,
        `    scrape_interval: ${every}`,
        `    static_configs: [{ targets: [${targets.map((t) => `'${t}'`).join(', ')}] }]`,
      ]),
      '',
    ].join('\n'),
  );
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let log = '';
  const proc: ChildProcess = spawn(
    binary,
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${path.join(dataDir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const keep = (b: Buffer) => (log = (log + b.toString()).slice(-4000));
  proc.stdout!.on('data', keep);
  proc.stderr!.on('data', keep);
  const stop = async () => {
    if (proc.exitCode === null && proc.signalCode === null) {
      const exited = new Promise((resolve) => proc.once('exit', resolve));
      process.kill(proc.pid!, 'SIGTERM');
      const killer = setTimeout(
        () => proc.exitCode === null && process.kill(proc.pid!, 'SIGKILL'),
        10_000,
      );
      await exited;
      clearTimeout(killer);
    }
    fs.rmSync(dataDir, { recursive: true, force: true });
  };
  const server = { url, log: () => log, stop };
  await eventually(
    'prometheus ready',
    async () => (await fetch(`${url}/-/ready`)).ok,
    30_000,
    server.log,
  ).catch(async (err: unknown) => {
    await stop();
    throw err;
  });
  return server;
}

/** Polls `check` until it returns true (errors count as false); fails with the last state. */
export async function eventually(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs = 30_000,
  context: () => string = () => '',
): Promise<void> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < end) {
    try {
      if (await check()) return;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(
    `${what}: not reached in ${timeoutMs} ms (last error: ${String(last)}); ${context()}`,
  );
}
