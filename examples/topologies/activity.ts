/**
 * Per-user activity from page clicks, with the windows millrace offers: visits (session
 * windows: 30 minutes without a click end one), clicks in the last 10 minutes (sliding
 * windows), and the hourly count as it grows, at most once a minute per user (tumbling
 * windows emitting every update, suppressed by a time limit, closing on idle). The same
 * topology as activity.yaml: both give the same spec (see topology/examples.test.ts).
 */
import {
  session,
  sliding,
  TopologyBuilder,
  tumbling,
  untilTimeLimit,
  type BuiltTopology,
} from '../../topology/index.js';

export const applicationId = 'activity';

const J = { key: 'string', value: 'json' } as const;
const MINUTE = 60_000;

export function activityTopology(): TopologyBuilder {
  const b = new TopologyBuilder('activity');
  const byUser = b
    .stream<string, { user: string; page: string }>('clicks', J, 'clicks')
    .process('select-key-field', { name: 'by-user', options: { field: 'user' } }) // changes keys
    .groupByKey({ keySerde: 'string', valueSerde: 'json' });
  byUser
    .windowedBy(session(30 * MINUTE, MINUTE))
    .count({ name: 'visits', store: 'visits' })
    .to('visits', J, 'visits-out');
  byUser
    .windowedBy(sliding(10 * MINUTE, MINUTE))
    .count({ name: 'last-10-min', store: 'last-10-min' })
    .to('clicks-last-10-min', J, 'last-10-min-out');
  byUser
    .windowedBy(tumbling(60 * MINUTE, MINUTE))
    .count({ name: 'hourly', store: 'hourly', emit: 'every-update', idleCloseMs: 5 * MINUTE })
    .suppress(untilTimeLimit(MINUTE), { name: 'hourly-updates', store: 'hourly-held' })
    .to('clicks-hourly', J, 'hourly-out');
  return b;
}

/** For `millrace describe|diagram|run examples/topologies/activity.ts`. */
export function topology(): BuiltTopology {
  return activityTopology().build(applicationId);
}
