/**
 * `npm run bench:dedupe-keys`: what each dedupe key drops, on the synthetic market. The
 * same seeded feed goes through the finnhub-vwap topology (in the test driver) once with
 * `symbol+timestamp` and once with `content`; the counts come from the dedupe processor's
 * `duplicates_dropped` and from the outputs. The figures in docs/pipeline.md are this command's.
 */
import { syntheticBatches } from '../connectors/finnhub/synthetic.js';
import { TopologyTestDriver } from '../runtime/testing/driver.js';
import { jsonSerde } from '../state/index.js';
import { SERDES, TOPICS, topology } from '../apps/finnhub-vwap/app.js';
import type { DedupeKeyKind } from '../processors/market/trade.js';
import { runBench, throughput } from './lib/results.js';

const TRADES = Number(process.env.BENCH_TRADES ?? 200_000);
const serdes = { [SERDES.raw]: jsonSerde, [SERDES.trade]: jsonSerde, [SERDES.vwap]: jsonSerde };

async function run(key: DedupeKeyKind) {
  const driver = await TopologyTestDriver.create(topology({ dedupeKey: key }), {
    serdes,
    deadLetterTopic: TOPICS.dlq,
    applicationId: 'finnhub-vwap',
  });
  const input = driver.input(TOPICS.raw, { key: 'string', value: SERDES.raw });
  let trades = 0;
  let sameMs = 0;
  let exactDuplicates = 0;
  const t0 = performance.now();
  for (const b of syntheticBatches({ seed: 42, symbols: 50, rate: 1000 })) {
    if (trades >= TRADES) break;
    if (b.kind === 'malformed') continue;
    if (b.kinds.includes('same-ms')) sameMs++;
    if (b.kinds.includes('duplicate')) exactDuplicates++;
    for (const t of b.trades) {
      trades++;
      await input.pipe(
        t.s,
        { type: 'trade', data: [t], ingest_timestamp: b.at },
        { timestamp: b.at },
      );
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  const clean = driver.output(TOPICS.clean, { key: 'string', value: SERDES.trade }).readAll();
  const dropped = driver.metric('dedupe', 'duplicates_dropped');
  await driver.close();
  return throughput(`dedupe key ${key}`, trades, seconds, {
    dedupe_key: key,
    trades_in: trades,
    trades_clean: clean.length,
    duplicates_dropped: dropped,
    same_ms_events_in_feed: sameMs,
    exact_duplicate_events_in_feed: exactDuplicates,
  });
}

await runBench(
  'dedupe-keys',
  'npm run bench:dedupe-keys',
  (['symbol+timestamp', 'content'] as const).map((k) => ({ name: k, run: () => run(k) })),
  `Synthetic feed seed 42, 50 symbols, ${TRADES} trades through the finnhub-vwap topology in the test driver.`,
);
