/**
 * The topology of the exactly-once system test, after Kafka Streams' own (apache/kafka
 * `EosTestClient`): from `data` (key `k<n>`, value an integer as JSON)
 *
 *   echo        each record as it is, to `<prefix>-echo` (stateless)
 *   agg         per key, after each record, {count, sum, min, max} of the key's values so far
 *               (a key-value store with a changelog) to `<prefix>-agg`
 *   regrouped   re-keyed to the key's group `g<n mod 7>`, through a repartition topic, then
 *               the same aggregate per group, to `<prefix>-regrouped`
 *
 * Each aggregate emits one output per input record (every update), so a verifier can
 * check every output against the input.
 */
import '../../processors/index.js';
import { TopologyBuilder, type BuiltTopology } from '../../topology/index.js';

export interface Aggregate {
  count: number;
  sum: number;
  min: number;
  max: number;
}

/** The group a key's records are re-keyed to (`k17` → `g3`). */
export function groupOf(key: string): string {
  return `g${Number(key.slice(1)) % 7}`;
}

const fold = (_k: string, v: number, a: Aggregate | null): Aggregate =>
  a === null
    ? { count: 1, sum: v, min: v, max: v }
    : { count: a.count + 1, sum: a.sum + v, min: Math.min(a.min, v), max: Math.max(a.max, v) };

export function eosTopology(input: string, prefix: string): BuiltTopology {
  const b = new TopologyBuilder('eos-test');
  const serdes = { key: 'string', value: 'json' };
  const data = b.stream<string, number>(input, serdes, 'data');
  data.to(`${prefix}-echo`, serdes, 'echo');
  data
    .groupByKey({ keySerde: 'string', valueSerde: 'json' })
    .aggregate<Aggregate | null>(() => null, fold, { name: 'agg' })
    .to(`${prefix}-agg`, serdes, 'agg-out');
  data
    .selectKey((r) => groupOf(r.key), 'regroup')
    .groupByKey({ keySerde: 'string', valueSerde: 'json' })
    .aggregate<Aggregate | null>(() => null, fold, { name: 'group-agg' })
    .to(`${prefix}-regrouped`, serdes, 'regrouped-out');
  return b.build();
}

/** Output topics of the topology, by part. */
export const eosOutputs = (prefix: string) => ({
  echo: `${prefix}-echo`,
  agg: `${prefix}-agg`,
  regrouped: `${prefix}-regrouped`,
});
