/**
 * The verifier of the exactly-once system test: checks every output of the app in
 * test/support/eos-app.ts against the input, computing what each output must be on its
 * own (it imports nothing of millrace). After Kafka Streams' `EosTestDriver.verify`.
 *
 *   echo       per key, the input's values, in input order, each once
 *   agg        per key, after each input record, {count, sum, min, max} of the key so far
 *   regrouped  per group `g<n mod 7>` of key `k<n>`: counts exactly 1, 2, … n in order, and
 *              the sums grow by exactly the group's input values, each once (the order
 *              between source partitions is not fixed after a repartition, the multiset is)
 */
import type { ReadRecord } from './kafka-helpers.js';

interface Agg {
  count: number;
  sum: number;
  min: number;
  max: number;
}

/** Values per key, partition by partition in offset order (a key lives in one partition). */
function byKey(records: readonly ReadRecord[]): Map<string, string[]> {
  const m = new Map<string, string[]>();
  const sorted = [...records].sort((a, b) => a.partition - b.partition || a.offset - b.offset);
  for (const r of sorted) {
    const k = r.key ?? '(null)';
    (m.get(k) ?? m.set(k, []).get(k)!).push(r.value ?? 'null');
  }
  return m;
}

const group = (key: string) => `g${Number(key.slice(1)) % 7}`;

export interface EosReport {
  inputs: number;
  outputs: { echo: number; agg: number; regrouped: number };
  /** Every way an output differs from what the input makes it; empty when all is right. */
  problems: string[];
}

export function verifyEos(
  input: readonly ReadRecord[],
  out: {
    echo: readonly ReadRecord[];
    agg: readonly ReadRecord[];
    regrouped: readonly ReadRecord[];
  },
): EosReport {
  const problems: string[] = [];
  const inputs = byKey(input);
  const values = new Map([...inputs].map(([k, vs]) => [k, vs.map(Number)]));
  checkEcho(inputs, byKey(out.echo), problems);
  checkAgg(values, byKey(out.agg), problems);
  checkRegrouped(values, byKey(out.regrouped), problems);
  return {
    inputs: input.length,
    outputs: { echo: out.echo.length, agg: out.agg.length, regrouped: out.regrouped.length },
    problems,
  };
}

function checkEcho(
  inputs: Map<string, string[]>,
  echo: Map<string, string[]>,
  problems: string[],
): void {
  for (const k of echo.keys())
    if (!inputs.has(k)) problems.push(`echo: key ${k} is not in the input`);
  for (const [k, want] of inputs) {
    const got = echo.get(k) ?? [];
    const i = firstDifference(got, want, (a, b) => a === b);
    if (i >= 0)
      problems.push(
        `echo ${k}: ${got.length} records for ${want.length} inputs; first difference at #${i}: ` +
          `…${got.slice(Math.max(0, i - 2), i + 4)}… for …${want.slice(Math.max(0, i - 2), i + 4)}…`,
      );
  }
}

function checkAgg(
  values: Map<string, number[]>,
  agg: Map<string, string[]>,
  problems: string[],
): void {
  for (const k of agg.keys())
    if (!values.has(k)) problems.push(`agg: key ${k} is not in the input`);
  for (const [k, vs] of values) {
    let a: Agg | undefined;
    const want = vs.map((v) => (a = fold(a, v)));
    const got = (agg.get(k) ?? []).map((s) => JSON.parse(s) as Agg);
    const i = firstDifference(got, want, sameAgg);
    if (i >= 0)
      problems.push(
        `agg ${k}: ${got.length} records for ${want.length} inputs; first difference at #${i}: ` +
          `${JSON.stringify(got[i])} for ${JSON.stringify(want[i])}`,
      );
  }
}

function checkRegrouped(
  values: Map<string, number[]>,
  regrouped: Map<string, string[]>,
  problems: string[],
): void {
  const groups = new Map<string, number[]>();
  for (const [k, vs] of values) {
    const g = group(k);
    groups.set(g, [...(groups.get(g) ?? []), ...vs]);
  }
  for (const g of regrouped.keys())
    if (!groups.has(g)) problems.push(`regrouped: group ${g} has no input`);
  for (const [g, vs] of groups) {
    const got = (regrouped.get(g) ?? []).map((s) => JSON.parse(s) as Agg);
    const counts = got.map((a) => a.count);
    const bad = counts.findIndex((c, i) => c !== i + 1);
    if (got.length !== vs.length || bad >= 0) {
      problems.push(
        `regrouped ${g}: ${got.length} records for ${vs.length} inputs; counts ${bad >= 0 ? `break at #${bad} (${counts[bad]})` : 'in order'}`,
      );
      continue;
    }
    // Each output adds one input value: the increments are the group's values, each once.
    const increments = got.map((a, i) => a.sum - (i ? got[i - 1]!.sum : 0));
    const sortNum = (xs: number[]) => [...xs].sort((x, y) => x - y);
    if (firstDifference(sortNum(increments), sortNum(vs), (x, y) => x === y) >= 0)
      problems.push(`regrouped ${g}: the sums do not grow by the group's input values, each once`);
    const last = got[got.length - 1]!;
    if (last.min !== Math.min(...vs) || last.max !== Math.max(...vs))
      problems.push(
        `regrouped ${g}: final min/max ${last.min}/${last.max} for ${Math.min(...vs)}/${Math.max(...vs)}`,
      );
    for (let i = 1; i < got.length; i++)
      if (got[i]!.min > got[i - 1]!.min || got[i]!.max < got[i - 1]!.max) {
        problems.push(`regrouped ${g}: min/max move the wrong way at #${i}`);
        break;
      }
  }
}

function fold(a: Agg | undefined, v: number): Agg {
  return a === undefined
    ? { count: 1, sum: v, min: v, max: v }
    : { count: a.count + 1, sum: a.sum + v, min: Math.min(a.min, v), max: Math.max(a.max, v) };
}

const sameAgg = (a: Agg, b: Agg) =>
  a.count === b.count && a.sum === b.sum && a.min === b.min && a.max === b.max;

/** Index of the first element that differs (or where one list ends first); -1 when equal. */
function firstDifference<A, B>(got: A[], want: B[], eq: (a: A, b: B) => boolean): number {
  const n = Math.min(got.length, want.length);
  for (let i = 0; i < n; i++) if (!eq(got[i]!, want[i]!)) return i;
  return got.length === want.length ? -1 : n;
}
