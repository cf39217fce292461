/**
 * What the demo's screen shows, measured: the input rate (offsets the app committed), the
 * consumer lag and group, the sink's rows per second (its /metrics), and the latest closed
 * window per symbol (tailing the VWAP topic). Rates are over the measured time between two
 * samples.
 */
import { tailTopics } from '../../connectors/kafka/tail.js';
import { sumSamples } from '../../observability/metrics.js';
import { appTopics, fetchStatus, withAdmin } from '../../runtime/admin/index.js';
import type { VwapWindow } from '../../processors/market/trade.js';
import { SERDES, TOPICS, serdes, topology } from '../../apps/finnhub-vwap/app.js';

/** A counter's rate per second between the last two samples. */
export class RateMeter {
  private total = 0;

  constructor(private at: number) {}

  /**
   * Takes a new total and returns the rate since the previous one. NaN (not readable
   * now) gives 0 and is skipped: the next total's rate covers the whole time since.
   */
  sample(total: number, at: number): number {
    if (Number.isNaN(total)) return 0;
    const perSecond = ((total - this.total) * 1000) / Math.max(1, at - this.at);
    this.total = total;
    this.at = at;
    return perSecond;
  }

  get last(): number {
    return this.total;
  }
}

/** How often the tail looks for the VWAP topic before the ingest has created it. */
const TOPIC_POLL_MS = 500;

/**
 * The newest closed window of each symbol on the VWAP topic, and how many were read. The
 * tail starts once the topic exists (the ingest creates it) and never holds the demo up.
 */
export class VwapTail {
  readonly latest = new Map<string, VwapWindow>();
  windows = 0;
  /** Why the tail is not reading, if it failed. */
  problem: string | undefined;
  private closed = false;
  private opening: Promise<void> = Promise.resolve();
  private stop: () => Promise<void> = async () => {};

  start(kafkaBrokers: string[], registryUrl: string): void {
    this.opening = this.open(kafkaBrokers, registryUrl).catch((err: unknown) => {
      this.problem = `the VWAP table stopped: ${(err as Error)?.message ?? String(err)}`;
    });
  }

  add(w: VwapWindow): void {
    this.windows++;
    const prev = this.latest.get(w.symbol);
    if (!prev || prev.window_start <= w.window_start) this.latest.set(w.symbol, w);
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.opening;
    await this.stop();
  }

  private async open(brokers: string[], registryUrl: string): Promise<void> {
    const s = await serdes(registryUrl);
    while (!this.closed && !(await topicExists(brokers, TOPICS.vwap)))
      await new Promise((r) => setTimeout(r, TOPIC_POLL_MS));
    if (this.closed) return;
    this.stop = await tailTopics({
      brokers,
      topics: [TOPICS.vwap],
      clientId: 'millrace-demo',
      onRecord: (r) => {
        if (r.value) this.add(s[SERDES.vwap].deserialize(r.value) as VwapWindow);
      },
    });
  }
}

function topicExists(brokers: string[], topic: string): Promise<boolean> {
  return withAdmin(brokers, 'millrace-demo', async (admin) =>
    (await admin.listTopics()).includes(topic),
  ).catch(() => false);
}

export interface PipelineFigures {
  members?: number;
  groupState?: string;
  lag?: number;
  inputPerS: number;
  sinkRowsPerS: number;
  rowsWritten: number;
}

/** Samples the app's group and the sink's metrics at each call. */
export class PipelineSampler {
  private readonly committed: RateMeter;
  private readonly rows: RateMeter;
  private readonly app: ReturnType<typeof appTopics>;

  constructor(
    private readonly kafkaBrokers: string[],
    appId: string,
    now = Date.now(),
  ) {
    this.app = appTopics(topology(), appId);
    this.committed = new RateMeter(now);
    this.rows = new RateMeter(now);
  }

  /** `sinkMetricsUrl`: the sink's /metrics once it has started. */
  async sample(sinkMetricsUrl: string | undefined): Promise<PipelineFigures> {
    const st = await withAdmin(this.kafkaBrokers, 'millrace-demo', (admin) =>
      fetchStatus(admin, this.app),
    ).catch(() => undefined);
    const committed = st ? st.partitions.reduce((n, p) => n + (p.committed ?? 0), 0) : NaN;
    const written = sinkMetricsUrl
      ? await metric(sinkMetricsUrl, 'millrace_sink_rows_written_total')
      : NaN;
    const now = Date.now();
    return {
      members: st?.members.length,
      groupState: st?.groupState,
      lag: st?.totalLag,
      inputPerS: this.committed.sample(committed, now),
      sinkRowsPerS: this.rows.sample(written, now),
      rowsWritten: this.rows.last,
    };
  }
}

async function metric(url: string, name: string): Promise<number> {
  try {
    return sumSamples(await (await fetch(url, { signal: AbortSignal.timeout(1000) })).text(), name);
  } catch {
    return NaN;
  }
}
