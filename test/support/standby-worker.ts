/**
 * One instance of a count-by-key topology (the builder's `count`, LevelDB store with its
 * changelog) with one standby replica, as its own process, for the standby e2e test.
 * Configured by environment: APP, INPUT, OUTPUT, STATE_DIR, BROKERS. Prints what
 * worker-report.ts prints, each task's restored records and each standby's lag included.
 */
import '../../processors/index.js';
import { StreamsApp } from '../../runtime/app.js';
import { TopologyBuilder } from '../../topology/index.js';
import { runReported } from './worker-report.js';

const env = (k: string) => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set`);
  return v;
};

const b = new TopologyBuilder();
b.stream(env('INPUT'), { key: 'string', value: 'string' })
  .groupByKey({ keySerde: 'string', valueSerde: 'string' })
  .count({ name: 'counts' })
  .to(env('OUTPUT'), { key: 'string', value: 'json' });

await runReported(
  new StreamsApp(b.build(), {
    applicationId: env('APP'),
    bootstrapServers: env('BROKERS'),
    processingGuarantee: 'exactly_once',
    stateDir: env('STATE_DIR'),
    numStandbyReplicas: 1,
    sessionTimeout: '6s',
    heartbeatInterval: '500ms',
    logLevel: 'info',
  }),
);
