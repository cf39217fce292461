/**
 * The same topology as clicks.yaml, written with the TypeScript builder: both give the
 * same spec (see topology/builder.test.ts). `groupByKey()` after the key-changing
 * `select-key-field` inserts the repartition topic `<app>-by-user-repartition`.
 */
import { TopologyBuilder, tumbling } from '../../topology/index.js';

export function clicksTopology(): TopologyBuilder {
  const b = new TopologyBuilder('clicks-per-user');
  const byUser = b
    .stream('clicks', { key: 'string', value: 'json' }, 'clicks')
    .process('select-key-field', { name: 'by-user', options: { field: 'user' } }) // changes keys
    .groupByKey({ keySerde: 'string', valueSerde: 'json' });
  byUser
    .count({ name: 'count-total', store: 'clicks-total' })
    .to('clicks-per-user', { key: 'string', value: 'json' }, 'totals');
  byUser
    .windowedBy(tumbling(60_000, 10_000))
    .count({ name: 'count-minute', store: 'clicks-minute' })
    .to('clicks-per-user-minute', { key: 'string', value: 'json' }, 'per-minute');
  return b;
}
