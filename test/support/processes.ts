/** Child processes for tests: the harness shared with the benchmarks (harness/processes.ts). */
export { startChild, startProcess, stopAll, type Child } from '../../harness/processes.js';
