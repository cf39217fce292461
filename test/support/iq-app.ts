/**
 * The app of the interactive-query tests, run with `millrace run test/support/iq-app.ts`:
 * counts per key (key-value store `counts-store`) and per key and minute (window store
 * `per-minute-store`) of the topic IQ_INPUT (string keys and values; default iq-in).
 */
import '../../processors/index.js';
import { TopologyBuilder, tumbling } from '../../topology/index.js';

export const applicationId = 'iq-counts';

export function topology() {
  const input = process.env.IQ_INPUT ?? 'iq-in';
  const b = new TopologyBuilder('iq-counts');
  const byKey = b
    .stream(input, { key: 'string', value: 'string' })
    .groupByKey({ keySerde: 'string', valueSerde: 'string' });
  byKey.count({ name: 'counts' });
  byKey.windowedBy(tumbling(60_000, 3_600_000)).count({ name: 'per-minute' });
  return b.build();
}
