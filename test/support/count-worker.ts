/**
 * One count-by-key instance as its own process, for e2e tests. Configured by
 * environment: APP, INPUT, OUTPUT, STATE_DIR, GUARANTEE, BROKERS, SESSION_TIMEOUT.
 * Prints JSON lines: {event:'started'}, {event:'tasks', tasks:[…]} on every change,
 * {event:'closed'} after a graceful stop.
 */
import { StreamsApp } from '../../runtime/app.js';
import { closeOnSignals } from '../../runtime/signals.js';
import { countTopology } from './count-app.js';

const env = (k: string) => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set`);
  return v;
};
const say = (o: Record<string, unknown>) =>
  process.stdout.write(JSON.stringify({ pid: process.pid, ...o }) + '\n');

const app = new StreamsApp(countTopology(env('INPUT'), env('OUTPUT'), env('STATE_DIR')), {
  applicationId: env('APP'),
  bootstrapServers: env('BROKERS'),
  processingGuarantee: env('GUARANTEE') as 'exactly_once' | 'at_least_once',
  stateDir: env('STATE_DIR'),
  sessionTimeout: process.env.SESSION_TIMEOUT ?? '6s',
  ...(process.env.COMMIT_INTERVAL ? { commitInterval: process.env.COMMIT_INTERVAL } : {}),
  heartbeatInterval: '500ms',
  logLevel: (process.env.LOG_LEVEL as 'info' | undefined) ?? 'warn',
});
app.onFailure((err) => {
  say({ event: 'failed', error: String(err) });
  process.exit(1);
});
closeOnSignals(app, { onClosed: () => (say({ event: 'closed' }), process.exit(0)) });
await app.start();
say({ event: 'started', instance: app.instanceId });
let last = '';
setInterval(() => {
  const running = [...app.tasks.values()]
    .filter((t) => t.state === 'running')
    .map((t) => t.id)
    .sort();
  const states = Object.fromEntries([...app.tasks.values()].map((t) => [t.id, t.state]));
  const now = JSON.stringify(states);
  if (now !== last) {
    last = now;
    say({ event: 'tasks', tasks: running, states, state: app.state });
  }
}, 100);
