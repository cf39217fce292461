/**
 * The soak with the flagship as a user runs it, every part its own process: `millrace
 * ingest` (synthetic, real-time pace, seeded), three `millrace run apps/finnhub-vwap`,
 * `millrace sink` into a DuckDB file.
 */
import path from 'node:path';
import { createTopics } from '../../connectors/kafka/topics.js';
import { startChild, type Child } from '../../harness/processes.js';
import { verifyTopics, verifyWarehouse } from './verify-pipeline.js';
import type { Fleet, SoakContext, SoakOptions } from './fleet.js';

const PREFIX = 'soak.';
const APP_ID = 'soak-finnhub-vwap';

async function runningOn(c: Child): Promise<string[]> {
  const status = [...c.lines].reverse().find((l) => l.event === 'started')?.status;
  if (!status || c.proc.exitCode !== null || c.proc.signalCode !== null) return [];
  try {
    const res = await fetch(`${String(status)}.json`, { signal: AbortSignal.timeout(1500) });
    const body = (await res.json()) as { tasks: Array<{ id: string; state: string }> };
    return body.tasks.filter((t) => t.state === 'running').map((t) => t.id);
  } catch {
    return [];
  }
}

/** Resolves once `c` printed no `batch` line for `ms`. */
async function quiet(c: Child, ms: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const last = [...c.lines].reverse().find((l) => l.event === 'batch' || l.event === 'started');
    if (Date.now() - (last ? Date.parse(String(last.time)) : 0) >= ms) return;
    if (Date.now() > deadline) throw new Error(`${c.name} never went quiet`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

export async function pipelineFleet(o: SoakOptions, ctx: SoakContext): Promise<Fleet> {
  process.env.MILLRACE_TOPIC_PREFIX = PREFIX;
  const { TOPICS, SERDES, serdes } = await import('../../apps/finnhub-vwap/app.js');
  const env = {
    // Each process's log (bench's .run/soak/processes/<name>-<pid>.log) says what it went through.
    MILLRACE_LOG_LEVEL: 'info',
    MILLRACE_BOOTSTRAP_SERVERS: ctx.cluster.bootstrap.join(','),
    MILLRACE_REGISTRY_URL: ctx.registryUrl,
    MILLRACE_TOPIC_PREFIX: PREFIX,
  };
  // The instances need their source topic before the ingest starts (the broker's
  // default replication factor: 3).
  await createTopics(
    ctx.kafka,
    [TOPICS.raw, TOPICS.finnhubDlq, TOPICS.clean, TOPICS.vwap, TOPICS.dlq].map((topic) => ({
      topic,
      partitions: o.partitions,
    })),
  );
  const duckdbPath = path.join(ctx.work, 'warehouse.duckdb');
  let ingest: Child | undefined;
  let sink: Child | undefined;
  const startSink = () =>
    startChild(
      'sink',
      'bin/millrace.js',
      ['sink', '--duckdb', duckdbPath, '--sink-id', `${APP_ID}-sink`, '--metrics-port', '0'],
      env,
    );
  return {
    tasks: o.partitions,
    startInstance: (name) =>
      startChild(
        name,
        'bin/millrace.js',
        [
          'run',
          'apps/finnhub-vwap',
          '--app-id',
          APP_ID,
          '--guarantee',
          o.guarantee,
          '--metrics-port',
          '0',
          '--state-dir',
          path.join(ctx.work, name),
        ],
        env,
      ),
    runningTasks: runningOn,
    async startProducer() {
      sink = startSink();
      await sink.waitFor((l) => l.event === 'started', 120_000);
      const start = Math.floor(Date.now() / 60_000) * 60_000;
      ingest = startChild(
        'ingest',
        'bin/millrace.js',
        [
          'ingest',
          '--source',
          'synthetic',
          '--rate',
          String(o.rate),
          '--seed',
          String(o.seed),
          '--start',
          String(start),
          '--duration',
          `${Math.round(o.minutes * 60)}s`,
          '--partitions',
          String(o.partitions),
          '--quiet',
        ],
        env,
      );
    },
    async stopProducer() {
      const code = await ingest!.exited;
      const done = ingest!.lines.find((l) => l.event === 'ingest_done');
      if (code !== 0 || !done)
        throw new Error(
          `the ingest failed (exit ${code}): ${ingest!.stderr.join('').slice(-2000)}`,
        );
      return {
        records: Number(done.trade_messages_produced),
        detail: {
          ingest_trades_read: done.trades,
          ingest_messages_acked: done.trade_messages_produced,
        },
      };
    },
    async verify(produced, instances) {
      const s = await serdes(ctx.registryUrl);
      const admin = ctx.kafka.admin();
      await admin.connect();
      const rawCount = (await admin.fetchTopicOffsets(TOPICS.raw)).reduce(
        (n, p) => n + Number(p.high) - Number(p.low),
        0,
      );
      await admin.disconnect();
      const { verdict, expected } = await verifyTopics(
        ctx.kafka,
        TOPICS,
        { raw: s[SERDES.raw], trade: s[SERDES.trade], vwap: s[SERDES.vwap] },
        rawCount,
      );
      // The sink may have been killed by nobody, but it may lag: let it drain, then stop it.
      if (sink && sink.proc.exitCode === null) {
        await quiet(sink, 5000, 600_000);
        sink.signal('SIGTERM');
        await sink.exited;
      }
      for (const c of instances) c.signal('SIGTERM');
      await Promise.all(instances.map((c) => c.exited));
      await verifyWarehouse(duckdbPath, expected, verdict);
      const ackedMissing = Math.max(0, produced.records - verdict.rawMessages);
      const w = verdict;
      return {
        recordsIn: w.tradesIn,
        recordsOut: w.warehouseTrades.records,
        lost: ackedMissing + w.warehouseTrades.missing + w.warehouseWindows.missing + w.dlq.missing,
        duplicated: w.clean.duplicated + w.vwap.duplicated + w.dlq.duplicated,
        wrong:
          w.warehouseTrades.wrong +
          w.warehouseTrades.unexpected +
          w.warehouseWindows.wrong +
          w.warehouseWindows.unexpected +
          w.vwap.wrong +
          w.vwap.unexpected +
          w.clean.unexpected +
          w.dlq.unexpected,
        detail: {
          ...produced.detail,
          raw_messages: w.rawMessages,
          acked_messages_missing: ackedMissing,
          expected: w.expected,
          trades_clean: w.clean,
          vwap_1m: w.vwap,
          trades_dlq: w.dlq,
          warehouse_trades: w.warehouseTrades,
          warehouse_vwap_1m: w.warehouseWindows,
        },
        examples: w.examples,
      };
    },
    close: async () => {},
  };
}
