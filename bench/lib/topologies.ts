/**
 * The benchmark topologies: stateless map/filter, and count-by-key on LevelDB with a
 * changelog, forwarding every update (`stateful`) or each key's newest count per commit
 * (`stateful-on-commit`, what Kafka Streams' record cache does by default).
 */
import '../../processors/index.js';
import { TopologyBuilder, type BuiltTopology } from '../../topology/index.js';

export type BenchKind = 'stateless' | 'stateful' | 'stateful-on-commit';

export function benchTopology(kind: BenchKind, input: string, output: string): BuiltTopology {
  const b = new TopologyBuilder();
  const s = b.stream(input, { key: 'string', value: 'bytes' });
  if (kind === 'stateless') {
    s.mapValues((v: Buffer) => v.subarray(0, 50))
      .filter((r) => r.value.length > 0)
      .to(output, { key: 'string', value: 'bytes' });
  } else {
    s.groupByKey({ keySerde: 'string', valueSerde: 'bytes' })
      .count({ name: 'count', emit: kind === 'stateful-on-commit' ? 'on-commit' : 'every-update' })
      .to(output, { key: 'string', value: 'int64' });
  }
  return b.build();
}
