/**
 * The engine's cases in `npm run bench:state` (bench/state.ts imports this module when it
 * exists): count-by-key through the test driver on LevelDB and in memory.
 * BENCH_RECORDS (default 1 000 000) sets the records per case.
 */
import type { BenchCaseDef } from '../lib/results.js';
import { driverCount } from './driver-count.js';

const records = Number(process.env.BENCH_RECORDS ?? 1_000_000);

export const cases: BenchCaseDef[] = [
  {
    name: 'count-by-key in the test driver, LevelDB',
    run: () => driverCount({ backend: 'leveldb', records }),
  },
  {
    name: 'count-by-key in the test driver, memory',
    run: () => driverCount({ backend: 'memory', records }),
  },
];
