/**
 * One count-by-key instance as its own process, for e2e tests. Configured by
 * environment: APP, INPUT, OUTPUT, STATE_DIR, GUARANTEE, BROKERS, SESSION_TIMEOUT,
 * COMMIT_INTERVAL, LOG_LEVEL (MILLRACE_* variables apply too). Prints JSON lines (see
 * worker-report.ts): {event:'started'}, {event:'tasks', tasks:[…]} on every change,
 * {event:'closed'} after a graceful stop.
 */
import { StreamsApp } from '../../runtime/app.js';
import { countTopology } from './count-app.js';
import { runReported } from './worker-report.js';

const env = (k: string) => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set`);
  return v;
};

await runReported(
  new StreamsApp(countTopology(env('INPUT'), env('OUTPUT'), env('STATE_DIR')), {
    applicationId: env('APP'),
    bootstrapServers: env('BROKERS'),
    processingGuarantee: env('GUARANTEE') as 'exactly_once' | 'at_least_once',
    stateDir: env('STATE_DIR'),
    sessionTimeout: process.env.SESSION_TIMEOUT ?? '6s',
    ...(process.env.COMMIT_INTERVAL ? { commitInterval: process.env.COMMIT_INTERVAL } : {}),
    heartbeatInterval: '500ms',
    logLevel: (process.env.LOG_LEVEL as 'info' | undefined) ?? 'warn',
  }),
);
