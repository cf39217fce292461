/**
 * Count-by-key through the topology test driver: the same task engine, processors and
 * store stack (metered → caching → change-logging → backend) the Kafka runtime runs, with
 * no broker — what the engine itself costs per record. Commits (store flush + changelog
 * drain) every 50 000 records, as a 100 ms commit interval would at this rate.
 *
 * Standalone: `npx tsx bench/cases/driver-count.ts` (BENCH_RECORDS, default 1 000 000).
 * In `npm run bench:state` through bench/cases/driver.ts.
 */
import { pathToFileURL } from 'node:url';
import { TopologyTestDriver } from '../../runtime/testing/driver.js';
import { throughput, type BenchCase } from '../lib/results.js';
import { benchTopology } from '../lib/topologies.js';

const KEYS = 10_000;
const COMMIT_EVERY = 50_000;

export interface DriverCountOptions {
  backend: 'memory' | 'leveldb';
  records: number;
}

/** Pipes `records` records over 10 000 keys (100-byte values) through count-by-key. */
export async function driverCount(o: DriverCountOptions): Promise<BenchCase> {
  const driver = await TopologyTestDriver.create(benchTopology('stateful', 'in', 'out'), {
    backend: o.backend,
  });
  try {
    const input = driver.input<string, Buffer>('in');
    const out = driver.output('out');
    const keys = Array.from({ length: KEYS }, (_, i) => `user-${i}`);
    const value = Buffer.alloc(100, 120);
    const t0 = performance.now();
    for (let i = 0; i < o.records; i++) {
      await input.pipe(keys[i % KEYS]!, value, { timestamp: i });
      if (i % COMMIT_EVERY === COMMIT_EVERY - 1) {
        await driver.commit();
        out.readAll();
      }
    }
    await driver.commit();
    const seconds = (performance.now() - t0) / 1000;
    return throughput(
      `count-by-key in the test driver, ${o.backend === 'leveldb' ? 'LevelDB' : 'in-memory'} stores, cached (${KEYS.toLocaleString('en-US')} keys, 100-byte values, commit every ${COMMIT_EVERY.toLocaleString('en-US')})`,
      o.records,
      seconds,
    );
  } finally {
    await driver.close();
  }
}

const isMain = import.meta.url === pathToFileURL(process.argv[1] ?? '').href;
if (isMain) {
  const records = Number(process.env.BENCH_RECORDS ?? 1_000_000);
  for (const backend of ['memory', 'leveldb'] as const) {
    const r = await driverCount({ backend, records });
    console.log(
      `${r.case}: ${r.records_per_s?.toLocaleString('en-US')} records/s (${r.seconds} s, RSS ${r.rss_mib} MiB)`,
    );
  }
}
