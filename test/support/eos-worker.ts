/**
 * One instance of the exactly-once system test's app (test/support/eos-app.ts) as its
 * own process. Environment: APP, INPUT, PREFIX (of the output topics), STATE_DIR,
 * BROKERS, GUARANTEE (default exactly_once), COMMIT_INTERVAL, LOG_LEVEL; MILLRACE_*
 * variables apply too. Prints what worker-report.ts says.
 */
import { StreamsApp } from '../../runtime/app.js';
import { eosTopology } from './eos-app.js';
import { runReported } from './worker-report.js';

const env = (k: string) => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set`);
  return v;
};

await runReported(
  new StreamsApp(eosTopology(env('INPUT'), env('PREFIX')), {
    applicationId: env('APP'),
    bootstrapServers: env('BROKERS'),
    processingGuarantee:
      (process.env.GUARANTEE as 'exactly_once' | 'at_least_once' | undefined) ?? 'exactly_once',
    stateDir: env('STATE_DIR'),
    sessionTimeout: '6s',
    heartbeatInterval: '500ms',
    ...(process.env.COMMIT_INTERVAL ? { commitInterval: process.env.COMMIT_INTERVAL } : {}),
    logLevel: (process.env.LOG_LEVEL as 'info' | undefined) ?? 'warn',
  }),
);
