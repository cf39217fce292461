// One instance of an exactly-once count-by-key app, as a user writes it against the
// installed package: plain node, `import … from 'millrace'`. Configured by environment
// (APP, INPUT, OUTPUT, BROKERS, STATE_DIR, COMMIT_INTERVAL); prints JSON lines:
// {event:'client', dir} (where its kafkajs came from), {event:'started'},
// {event:'tasks', tasks} on every change, {event:'failed', code, error}.
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { StreamsApp, TopologyBuilder, closeOnSignals } from 'millrace';

const say = (o) => process.stdout.write(JSON.stringify({ pid: process.pid, ...o }) + '\n');
// The kafkajs that millrace itself resolves (not the project's own, if it has one).
const fromMillrace = createRequire(fileURLToPath(import.meta.resolve('millrace')));
say({ event: 'client', dir: path.dirname(fromMillrace.resolve('kafkajs/package.json')) });

const b = new TopologyBuilder(process.env.APP);
b.stream(process.env.INPUT, { key: 'string', value: 'string' })
  .groupByKey({ keySerde: 'string', valueSerde: 'string' })
  .count({ name: 'counts' })
  .to(process.env.OUTPUT, { key: 'string', value: 'json' });

const app = new StreamsApp(b.build(process.env.APP), {
  applicationId: process.env.APP,
  bootstrapServers: process.env.BROKERS,
  processingGuarantee: 'exactly_once',
  stateDir: process.env.STATE_DIR,
  commitInterval: process.env.COMMIT_INTERVAL ?? '100ms',
  sessionTimeout: '3s',
  heartbeatInterval: '500ms',
  logLevel: 'info',
});
app.onFailure((err) => {
  say({ event: 'failed', error: String(err) });
  process.exit(1);
});
closeOnSignals(app, { onClosed: () => process.exit(0) });
try {
  await app.start();
} catch (err) {
  say({ event: 'failed', code: err.code, error: err.message });
  process.exit(2);
}
say({ event: 'started' });
let last = '';
setInterval(() => {
  const tasks = [...app.tasks.values()]
    .filter((t) => t.state === 'running')
    .map((t) => t.id)
    .sort();
  if (JSON.stringify(tasks) !== last) say({ event: 'tasks', tasks });
  last = JSON.stringify(tasks);
}, 100);
