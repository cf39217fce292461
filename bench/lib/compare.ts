/**
 * The pure parts of `npm run bench:compare`: which millrace run stands against which Kafka
 * Streams run, how the outside probe's samples of a group's committed offsets become a
 * rate, and the pairs' table in latest.md.
 */

export type Guarantee = 'at_least_once' | 'exactly_once';

/** How the millrace side of a pair is started. */
export type MillraceLauncher =
  /** bench/engine-worker.ts: the runtime as a library, in a process of its own. */
  | { how: 'library'; kind: 'stateless' | 'stateful' | 'stateful-on-commit' }
  /** `millrace run <topology.yaml>`, every setting at its default (the built CLI once there is one). */
  | { how: 'cli'; topology: 'count' };

/** How the Kafka Streams side is started (bench/kafka-streams/, one JVM). */
export interface KStreamsLauncher {
  kind: 'stateless' | 'stateful';
  /** statestore.cache.max.bytes; undefined keeps Kafka Streams' default (10 MiB). */
  cacheMaxBytes?: number;
}

export interface PairDef {
  /** Short id for topic and group names: `count-every-eos-x2`. */
  id: string;
  /** What is compared, in words (the table's first column). */
  name: string;
  guarantee: Guarantee;
  /** 1: one millrace instance against one stream thread; 2: two against two. */
  scale: 1 | 2;
  /** `library`: both sides configured alike; `defaults`: both as a user starts them. */
  group: 'library' | 'defaults';
  millrace: MillraceLauncher;
  kstreams: KStreamsLauncher;
}

const SHAPES: Array<{
  id: string;
  name: string;
  group: PairDef['group'];
  millrace: MillraceLauncher;
  kstreams: KStreamsLauncher;
}> = [
  {
    id: 'stateless',
    name: 'stateless map/filter',
    group: 'library',
    millrace: { how: 'library', kind: 'stateless' },
    kstreams: { kind: 'stateless' },
  },
  {
    id: 'count-every',
    name: 'count-by-key, every update forwarded (millrace emit every-update; KS record cache off)',
    group: 'library',
    millrace: { how: 'library', kind: 'stateful' },
    kstreams: { kind: 'stateful', cacheMaxBytes: 0 },
  },
  {
    id: 'count-collapsed',
    name: "count-by-key, updates collapsed per commit (millrace emit 'on-commit'; KS record cache 10 MiB)",
    group: 'library',
    millrace: { how: 'library', kind: 'stateful-on-commit' },
    kstreams: { kind: 'stateful' },
  },
  {
    id: 'count-defaults',
    name: 'count-by-key, each side at its defaults (`millrace run topology.yaml`; KS count, record cache on)',
    group: 'defaults',
    millrace: { how: 'cli', topology: 'count' },
    kstreams: { kind: 'stateful' },
  },
];

/** Every pair, for each scale and guarantee; `only` keeps pairs whose id contains a word. */
export function comparePairs(scales: readonly (1 | 2)[], only?: readonly string[]): PairDef[] {
  const out: PairDef[] = [];
  for (const scale of scales)
    for (const s of SHAPES)
      for (const guarantee of ['at_least_once', 'exactly_once'] as const) {
        const id = `${s.id}-${guarantee === 'exactly_once' ? 'eos' : 'alos'}-x${scale}`;
        out.push({ ...s, id, guarantee, scale });
      }
  return only?.length ? out.filter((p) => only.some((w) => p.id.includes(w))) : out;
}

/** One sample of the outside probe: when, the group's committed offsets summed, its state. */
export interface ProbeSample {
  /** ms (performance.now()), the middle of the request. */
  t: number;
  committed: number;
  members: number;
  /** The group's state as the coordinator tells it (`Stable`, `PreparingRebalance`, …). */
  state: string;
}

export interface ProbeWindow {
  /** ms: the first commit seen once the group was complete. */
  start: number;
  /** ms: the first sample at which every partition's committed offset reached its end. */
  end: number;
  /** Records committed at `start` (not counted in the rate). */
  committedAtStart: number;
  records: number;
  seconds: number;
  recordsPerS: number;
}

/**
 * The measured window from the probe's samples: it starts at the first commit seen after
 * the group was Stable with all its members (each side's start-up, join, first fetch and
 * the work of a member that joined first are left out alike) and ends when the committed
 * offsets reached the input's end. `total` is the input's size; `done(sample)` says whether
 * that sample had every partition at its end. Undefined until both happened.
 */
export function probeWindow(
  samples: readonly ProbeSample[],
  members: number,
  total: number,
  done: (s: ProbeSample) => boolean,
): ProbeWindow | undefined {
  let complete = -1;
  for (let i = 0; i < samples.length; i++)
    if (samples[i]!.members >= members && samples[i]!.state === 'Stable') {
      complete = i;
      break;
    }
  if (complete < 0) return undefined;
  let start = -1;
  for (let i = complete + 1; i < samples.length; i++)
    if (samples[i]!.committed > samples[i - 1]!.committed) {
      start = i;
      break;
    }
  if (start < 0) return undefined;
  const end = samples.findIndex((s, i) => i > start && done(s));
  if (end < 0) return undefined;
  const s = samples[start]!;
  const e = samples[end]!;
  const records = total - s.committed;
  const seconds = (e.t - s.t) / 1000;
  return {
    start: s.t,
    end: e.t,
    committedAtStart: s.committed,
    records,
    seconds,
    recordsPerS: Math.round(records / seconds),
  };
}

/** One side of a pair as measured. */
export interface SideResult {
  records_per_s: number;
  rss_mib: number | null;
}

export interface PairResult {
  pair: string;
  name: string;
  group: PairDef['group'];
  guarantee: Guarantee;
  scale: string;
  millrace_records_per_s: number;
  kstreams_records_per_s: number;
  /** millrace ÷ Kafka Streams. */
  ratio: number;
  /** Each side ÷ the broker's produce limit measured in the same run. */
  millrace_to_produce_limit: number | null;
  kstreams_to_produce_limit: number | null;
  millrace_rss_mib: number | null;
  kstreams_rss_mib: number | null;
}

const r2 = (x: number) => Math.round(x * 100) / 100;

/** How millrace runs two: one instance of two stream threads, or two instances. */
export type ScaleOut = 'threads' | 'instances';

export function scaleLabel(scale: 1 | 2, scaleOut: ScaleOut = 'threads'): string {
  if (scale === 1) return '1 millrace instance vs 1 stream thread';
  return scaleOut === 'threads'
    ? '1 millrace instance of 2 stream threads vs 2 stream threads'
    : '2 millrace instances vs 2 stream threads';
}

export function pairResult(
  p: PairDef,
  m: SideResult,
  k: SideResult,
  produceLimit: number | undefined,
  scaleOut: ScaleOut = 'threads',
): PairResult {
  return {
    pair: p.id,
    name: p.name,
    group: p.group,
    guarantee: p.guarantee,
    scale: scaleLabel(p.scale, scaleOut),
    millrace_records_per_s: m.records_per_s,
    kstreams_records_per_s: k.records_per_s,
    ratio: r2(m.records_per_s / k.records_per_s),
    millrace_to_produce_limit: produceLimit ? r2(m.records_per_s / produceLimit) : null,
    kstreams_to_produce_limit: produceLimit ? r2(k.records_per_s / produceLimit) : null,
    millrace_rss_mib: m.rss_mib,
    kstreams_rss_mib: k.rss_mib,
  };
}

/** The broker's own limits, from Kafka's perf tools. */
export interface Limits {
  produce_records_per_s: number | null;
  consume_records_per_s: number | null;
}

/** The pairs' table for latest.md (the results file's `pairs` and `limits`). */
export function pairsTable(pairs: readonly PairResult[], limits: Limits | undefined): string[] {
  const n = (x: number | null | undefined) =>
    x === null || x === undefined ? '—' : x.toLocaleString('en-US');
  const out = [
    '| pair | guarantee | scale | millrace rec/s | Kafka Streams rec/s | ratio | millrace ÷ produce limit | KS ÷ produce limit | RSS MiB (millrace / KS) |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const p of pairs)
    out.push(
      `| ${p.name} | ${p.guarantee} | ${p.scale} | ${n(p.millrace_records_per_s)} | ${n(p.kstreams_records_per_s)} | **${p.ratio.toFixed(2)}** | ${p.millrace_to_produce_limit?.toFixed(2) ?? '—'} | ${p.kstreams_to_produce_limit?.toFixed(2) ?? '—'} | ${n(p.millrace_rss_mib)} / ${n(p.kstreams_rss_mib)} |`,
    );
  if (limits)
    out.push(
      '',
      `Broker limits in the same run (Kafka's ProducerPerformance / ConsumerPerformance): produce ${n(limits.produce_records_per_s)} rec/s, consume ${n(limits.consume_records_per_s)} rec/s.`,
    );
  return out;
}

/** ProducerPerformance's summary line: `2000000 records sent, 541418.5 records/sec (…)`. */
export function parseProducerPerformance(out: string): number {
  const m = /(\d+) records sent, ([\d.]+) records\/sec/.exec(
    out
      .trim()
      .split('\n')
      .filter((l) => l.includes('records sent'))
      .pop() ?? '',
  );
  if (!m) throw new Error(`ProducerPerformance printed no summary: ${out.slice(-500)}`);
  return Math.round(Number(m[2]));
}

/**
 * ConsumerPerformance's CSV line (after its header): fetch.nMsg.sec, the rate of the
 * fetching alone (its group join left out, as the engines' windows leave theirs out).
 */
export function parseConsumerPerformance(out: string): number {
  const lines = out
    .trim()
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const header = lines.findIndex((l) => l.startsWith('start.time'));
  if (header < 0 || !lines[header + 1])
    throw new Error(`ConsumerPerformance printed no result: ${out.slice(-500)}`);
  const names = lines[header]!.split(',').map((s) => s.trim());
  const values = lines[header + 1]!.split(',').map((s) => s.trim());
  const v = Number(values[names.indexOf('fetch.nMsg.sec')]);
  if (!Number.isFinite(v) || v <= 0)
    throw new Error(`ConsumerPerformance's result has no fetch.nMsg.sec: ${lines[header + 1]}`);
  return Math.round(v);
}
