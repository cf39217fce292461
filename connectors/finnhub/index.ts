/**
 * Finnhub trade sources: the public face of `connectors/finnhub/`.
 *
 * - `FinnhubWebSocketSource`: the live feed (token, symbols, reconnects with backoff).
 * - `SyntheticSource` / `syntheticFeed`: a deterministic Finnhub-shaped feed with
 *   duplicates, same-millisecond distinct trades, out-of-order, late, invalid and
 *   malformed messages.
 * - `ReplaySource`: a JSONL recording at original, accelerated or maximum speed.
 * - `TradeSink`: where sources hand trade messages and dead letters (the Kafka ingest
 *   producer implements it); `IngestMetrics`: counters to bind; `finnhubConfig()`: the
 *   validated environment.
 */
export {
  backoffCeiling,
  backoffDelay,
  defaultBackoff,
  type BackoffOptions,
} from '../common/backoff.js';
export { DEFAULT_SYMBOLS, DEFAULT_WS_URL, finnhubConfig, type FinnhubConfig } from './config.js';
export { environment, parseDotEnv } from './env-file.js';
export {
  FinnhubAuthError,
  FinnhubConfigError,
  FinnhubError,
  type ConfigIssue,
  type FinnhubErrorDomain,
} from './errors.js';
export {
  jsonLogger,
  redactingLogger,
  silentLogger,
  type IngestLogger,
  type LogLevel,
} from './log.js';
export { parseFrame, splitBySymbol, type Parsed } from './messages.js';
export {
  CountingMetrics,
  noopMetrics,
  teeMetrics,
  type IngestMetrics,
  type MessageKind,
} from './metrics.js';
export { redact } from './redact.js';
export { ReplaySource, type ReplaySourceOptions } from './replay.js';
export { MemorySink, type TradeSink } from './sink.js';
export type { SourceOptions, SourceSummary, TradeSource } from './source.js';
export {
  defaultSynthetic,
  frameText,
  syntheticBatches,
  syntheticFeed,
  syntheticOptions,
  symbolNames,
  WALK,
  type SyntheticBatch,
  type SyntheticFrame,
  type SyntheticKind,
  type SyntheticOptions,
  type SyntheticShares,
} from './synthetic.js';
export { SyntheticSource, type SyntheticSourceOptions } from './synthetic-source.js';
export type { DeadLetter, FinnhubTrade, RejectReason, SourceName, TradeMessage } from './types.js';
export { REJECT_REASONS } from './types.js';
export {
  FinnhubWebSocketSource,
  type FinnhubSourceOptions,
  type FinnhubSourceStats,
} from './ws-source.js';
export { FakeFinnhubServer, type FakeFinnhubServerOptions } from './fake-server.js';
