/** Child processes for tests: the harness shared with the benchmarks (harness/processes.ts). */
export {
  recentOutput,
  startChild,
  startProcess,
  stopAll,
  type Child,
} from '../../harness/processes.js';
