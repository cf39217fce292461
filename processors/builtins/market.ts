/** The market-data pipeline's processor types: explode-trades, validate-trade, dedupe-trades, vwap. */
import { z } from 'zod';
import { DedupeTrades } from '../market/dedupe.js';
import { ExplodeTrades } from '../market/explode.js';
import { ValidateTrade } from '../market/validate.js';
import { VwapProcessor, vwapAggregateSerde } from '../market/vwap.js';
import { registerSerde } from '../../state/serdes.js';
import type { ProcessorDefinition } from '../registry.js';

const dedupeOptions = z
  .object({
    key: z.enum(['symbol+timestamp', 'content']).default('symbol+timestamp'),
    store: z.string().min(1).default('dedupe-store'),
    retentionMs: z.number().int().positive().default(600_000),
  })
  .strict();

const vwapOptions = z
  .object({
    store: z.string().min(1).default('vwap-store'),
    sizeMs: z.number().int().positive().default(60_000),
    graceMs: z.number().int().nonnegative().default(10_000),
    idleCloseMs: z.number().int().positive().optional(),
  })
  .strict();

/** The vwap store's values: a compact binary aggregate (see vwapAggregateSerde). */
const VWAP_AGGREGATE_SERDE = 'vwap-aggregate';
registerSerde(VWAP_AGGREGATE_SERDE, vwapAggregateSerde);

export const market: ProcessorDefinition[] = [
  {
    type: 'explode-trades',
    description:
      'One Finnhub trade message → one trade record per entry (the trades table columns)',
    options: z.object({}).strict(),
    create: () => new ExplodeTrades(),
  },
  {
    type: 'validate-trade',
    description:
      'Dead-letters trades that break a rule (price, volume, symbol, timestamp, optional clock skew and future bound)',
    options: z
      .object({
        maxClockSkewMs: z.number().int().positive().optional(),
        maxFutureMs: z.number().int().positive().optional(),
      })
      .strict(),
    create: (o: { maxClockSkewMs?: number; maxFutureMs?: number }) => new ValidateTrade(o),
  },
  {
    type: 'dedupe-trades',
    description: 'Drops repeated trades by key (symbol+timestamp or content) within a retention',
    options: dedupeOptions,
    stores: (o: z.infer<typeof dedupeOptions>) => [
      {
        name: o.store,
        kind: 'window',
        keySerde: 'string',
        valueSerde: 'int64',
        logged: true,
        cache: true,
        retentionMs: o.retentionMs,
        segmentMs: Math.max(60_000, Math.floor(o.retentionMs / 5)),
      },
    ],
    counters: ['duplicates_dropped'],
    create: (o: z.infer<typeof dedupeOptions>) => new DedupeTrades({ key: o.key, store: o.store }),
  },
  {
    type: 'vwap',
    description:
      'Tumbling-window VWAP, volume, trade count and OHLC per symbol, final results only',
    options: vwapOptions,
    counters: ['window_emits', 'late_records'],
    stores: (o: z.infer<typeof vwapOptions>) => [
      {
        name: o.store,
        kind: 'window',
        keySerde: 'string',
        valueSerde: VWAP_AGGREGATE_SERDE,
        logged: true,
        cache: true,
        retentionMs: o.sizeMs + o.graceMs,
        windowSizeMs: o.sizeMs,
      },
    ],
    create: (o: z.infer<typeof vwapOptions>) => new VwapProcessor(o),
  },
];
