/**
 * The runtime's face of a store, shared by the typed key-value and window stores (the
 * metered layer): flush, changelog, restore, discard, close, destroy, timed into
 * StoreMetrics when the runtime gives one.
 */
import type {
  ChangelogRecord,
  LocalStateStore,
  RestoreRecord,
  StoreKind,
  StoreMetrics,
} from './api.js';
import type { BytesBackend } from './backend/backend.js';
import type { ChangeLoggingLayer } from './changelogging.js';
import { StateStoreError } from './errors.js';
import type { WriteLayer } from './layer.js';

/** The layers under a typed store, top to bottom. */
export interface StoreStack {
  layer: WriteLayer;
  logging: ChangeLoggingLayer;
  backend: BytesBackend;
  metrics?: StoreMetrics;
  /** Epoch ms stamped on changelog records. */
  timestamp: () => number;
}

export abstract class MeteredStore implements LocalStateStore {
  abstract readonly kind: StoreKind;
  protected readonly layer: WriteLayer;
  protected readonly metrics: StoreMetrics | undefined;
  /** True when the metrics want operation timings (each costs two clock reads). */
  protected readonly timing: boolean;
  private closed = false;

  constructor(
    readonly name: string,
    protected readonly stack: StoreStack,
  ) {
    this.layer = stack.layer;
    this.metrics = stack.metrics;
    this.timing = !!stack.metrics?.operation;
  }

  /** Reports one operation's duration (from `t0`, a performance.now() reading). */
  protected timed(op: string, t0: number): void {
    this.metrics!.operation!(this.name, op, (performance.now() - t0) / 1000);
  }

  async flush(): Promise<void> {
    if (this.closed) throw this.closedError();
    const t0 = performance.now();
    await this.layer.flush();
    if (!this.metrics) return;
    if (this.timing) this.timed('flush', t0);
    this.reportCache();
  }

  private reportCache(): void {
    const { hits, misses } = this.layer.stats;
    if (this.metrics!.cacheAccesses) this.metrics!.cacheAccesses(this.name, hits, misses);
    else {
      for (let i = 0; i < hits; i++) this.metrics!.cacheAccess(this.name, true);
      for (let i = 0; i < misses; i++) this.metrics!.cacheAccess(this.name, false);
    }
    this.layer.stats.hits = 0;
    this.layer.stats.misses = 0;
  }

  private closedError(): StateStoreError {
    return new StateStoreError(
      `store "${this.name}" is closed; it cannot flush (a task uses its stores between open and close only)`,
      { code: 'STORE_CLOSED', domain: 'internal' },
    );
  }

  /** Writes sent down to the backend since open (observes the cache collapsing writes). */
  get backendWrites(): number {
    return this.stack.logging.backendWrites;
  }

  drainChangelog(): ChangelogRecord[] {
    return this.stack.logging.drain();
  }

  async restore(records: readonly RestoreRecord[]): Promise<void> {
    const t0 = performance.now();
    this.layer.clear();
    await this.stack.logging.restore(records);
    if (this.timing) this.timed('restore', t0);
  }

  discardUncommitted(): void {
    this.layer.discardDirty();
    this.stack.logging.discard();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.stack.backend.close();
  }

  async destroy(): Promise<void> {
    this.closed = true;
    this.layer.clear();
    this.stack.logging.discard();
    await this.stack.backend.destroy();
  }
}
