import { SERDES, TOPICS, serdes } from '../../apps/finnhub-vwap/app.js';
import { createKafka } from '../../connectors/kafka/client.js';
import { IngestProducer } from '../../connectors/kafka/ingest-producer.js';
import { parseFrame } from '../../connectors/finnhub/messages.js';
import { syntheticFeed } from '../../connectors/finnhub/synthetic.js';
import { parseDuration } from '../../runtime/duration.js';
import { parseArgs } from '../args.js';
import { EXIT, UsageError } from '../errors.js';
import type { Command } from '../command.js';

export const FINNHUB_DLQ = TOPICS.finnhubDlq;

function num(v: string | true | undefined, name: string, fallback: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0)
    throw new UsageError(`--${name} ${String(v)} is not a positive number`);
  return n;
}

async function ensureTopics(
  kafka: ReturnType<typeof createKafka>,
  partitions: number,
): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const have = new Set(await admin.listTopics());
    const want = [TOPICS.raw, TOPICS.clean, TOPICS.vwap, TOPICS.dlq, FINNHUB_DLQ].filter(
      (t) => !have.has(t),
    );
    if (want.length)
      await admin.createTopics({
        waitForLeaders: true,
        topics: want.map((topic) => ({ topic, numPartitions: partitions })),
      });
  } finally {
    await admin.disconnect();
  }
}

export const ingestCommand: Command = {
  name: 'ingest',
  summary:
    'Feed trades.raw: the synthetic Finnhub-shaped source (the Finnhub WebSocket source is not built yet)',
  usage:
    'millrace ingest [--source synthetic] [--symbols N] [--rate FRAMES_PER_S] [--seed S] [--count N | --duration 30s] [--start EPOCH_MS] [--max-speed] [--partitions 8] [--brokers H:P] [--registry URL]',
  async run(argv) {
    const a = parseArgs(argv, {
      values: [
        'source',
        'symbols',
        'rate',
        'seed',
        'count',
        'duration',
        'start',
        'partitions',
        'brokers',
        'registry',
      ],
      booleans: ['max-speed'],
    });
    if (a.flags.help) return this.help();
    const source =
      (a.flags.source as string | undefined) ??
      (process.env.FINNHUB_TOKEN ? 'finnhub' : 'synthetic');
    if (source !== 'synthetic')
      throw new UsageError(
        `--source ${source}: only the synthetic source exists so far; use --source synthetic (or unset FINNHUB_TOKEN)`,
      );
    const brokers = (
      (a.flags.brokers as string | undefined) ??
      process.env.MILLRACE_BOOTSTRAP_SERVERS ??
      '127.0.0.1:9092'
    ).split(',');
    const registry =
      (a.flags.registry as string | undefined) ??
      process.env.MILLRACE_REGISTRY_URL ??
      'http://127.0.0.1:8081/apis/ccompat/v7';
    const rate = num(a.flags.rate, 'rate', 1000);
    const count = a.flags.count === undefined ? Infinity : num(a.flags.count, 'count', 0);
    const durationMs =
      a.flags.duration === undefined
        ? Infinity
        : (parseDuration(String(a.flags.duration)) ??
          (() => {
            throw new UsageError(
              `--duration ${String(a.flags.duration)} is not a duration; write e.g. 30s`,
            );
          })());
    const kafka = createKafka({ brokers, clientId: 'millrace-ingest' });
    await ensureTopics(kafka, num(a.flags.partitions, 'partitions', 8));
    const raw = (await serdes(registry))[SERDES.raw];
    let waits = 0;
    const producer = new IngestProducer(kafka, {
      rawTopic: TOPICS.raw,
      dlqTopic: FINNHUB_DLQ,
      serialize: (m) => raw.serialize(m),
      onBackpressure: () => void waits++,
    });
    await producer.connect();
    let stop = false;
    const onSignal = () => void (stop = true);
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    const start = Date.now();
    const feed = syntheticFeed({
      symbols: num(a.flags.symbols, 'symbols', 50),
      rate,
      seed: num(a.flags.seed, 'seed', 42),
      startMs: a.flags.start ? Number(a.flags.start) : start,
    });
    let frames = 0;
    let trades = 0;
    const progress = setInterval(
      () =>
        process.stderr.write(
          `\ringest: ${frames} frames, ${trades} trade messages, ${producer.delivered} delivered, ${producer.rejected} to ${FINNHUB_DLQ}, backpressure waits ${waits}   `,
        ),
      1000,
    );
    try {
      for (const frame of feed) {
        if (stop || frames >= count || Date.now() - start >= durationMs) break;
        const ahead =
          frame.at - (a.flags.start ? Number(a.flags.start) : start) - (Date.now() - start);
        if (ahead > 5 && !a.flags['max-speed']) await new Promise((r) => setTimeout(r, ahead));
        frames++;
        const parsed = parseFrame(frame.text, frame.at);
        if (parsed.kind === 'reject')
          await producer.reject(Buffer.from(frame.text), parsed.reason, frame.at);
        else if (parsed.kind === 'trades') {
          for (const m of parsed.messages) {
            trades++;
            await producer.accept(m.data[0]!.s, m, frame.at);
          }
        }
      }
      await producer.close();
    } finally {
      clearInterval(progress);
      process.stderr.write(
        `\ningest: done — ${frames} frames, ${producer.delivered} records delivered (${producer.rejected} to ${FINNHUB_DLQ})\n`,
      );
    }
    return EXIT.ok;
  },
  help() {
    process.stdout.write(
      `${this.usage}\n\n${this.summary}.\n\n` +
        `Creates trades.raw, trades.clean, vwap.1m, trades.dlq and finnhub.dlq if absent. The synthetic feed is deterministic for a seed\n` +
        `and includes duplicates, same-millisecond distinct trades, out-of-order, late, invalid and malformed frames.\n` +
        `--rate sets the spacing of the feed's (virtual) trade times; --max-speed sends as fast as Kafka takes them\n` +
        `(a backfill: event time runs faster than the wall clock).\n`,
    );
    return EXIT.ok;
  },
};
