/**
 * The same topology as clicks.yaml, written with the TypeScript builder. Both give the
 * same spec (see topology/topology.test.ts).
 */
import { TopologyBuilder } from '../../topology/index.js';

export function clicksTopology() {
  const b = new TopologyBuilder('clicks-per-user');
  b.addStore({
    name: 'clicks-total',
    kind: 'keyValue',
    keySerde: 'string',
    valueSerde: 'int64',
    logged: true,
    cache: true,
  });
  b.addStore({
    name: 'clicks-minute',
    kind: 'window',
    keySerde: 'string',
    valueSerde: 'json',
    logged: true,
    cache: true,
    retentionMs: 70_000,
    windowSizeMs: 60_000,
  });
  const byUser = b
    .stream('clicks', { key: 'string', value: 'json' }, 'clicks')
    .process('select-key-field', { name: 'by-user', options: { field: 'user' }, changesKey: true })
    .repartition({ key: 'string', value: 'json' }, 'by-user');
  byUser
    .process('count', {
      name: 'count-total',
      options: { store: 'clicks-total' },
      stores: ['clicks-total'],
    })
    .to('clicks-per-user', { key: 'string', value: 'json' }, 'totals');
  byUser
    .process('windowed-count', {
      name: 'count-minute',
      options: { store: 'clicks-minute', sizeMs: 60_000, graceMs: 10_000 },
      stores: ['clicks-minute'],
    })
    .to('clicks-per-user-minute', { key: 'string', value: 'json' }, 'per-minute');
  return b;
}
