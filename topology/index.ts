/** millrace topologies: the spec, the builder, YAML files, validation, description and diagrams. */
export * from './spec.js';

export { TopologyError } from './errors.js';
export {
  buildTopology,
  BuiltTopology,
  type BuildOptions,
  type Subtopology,
  type InternalTopic,
  type GlobalStore,
} from './build.js';
export { TopologyBuilder } from './builder.js';
export { KStream, type Rec, type ProcessOptions, type GroupedSerdes } from './stream.js';
export {
  DEFAULT_SERDES,
  type Serdes,
  type SerdeTypes,
  type SerdeType,
  type SerdesCheck,
  type GroupedSerdesCheck,
  type Declared,
} from './serdes.js';
export {
  KGroupedStream,
  TimeWindowedStream,
  SessionWindowedStream,
  SlidingWindowedStream,
  tumbling,
  hopping,
  session,
  sliding,
  joinWindows,
  type Windowed,
  type TumblingWindow,
  type TimeWindows,
  type SessionWindows,
  type SlidingWindows,
  type JoinWindows,
  type AggregateOptions,
  type KeyValueAggregateOptions,
  type Fold,
} from './grouped.js';
export { type WindowedAggregateOptions, type SessionValue } from './windowed.js';
export { AggregatedStream, WindowedStream } from './stream.js';
export {
  untilWindowCloses,
  untilTimeLimit,
  type WindowCloseSuppression,
  type TimeLimitSuppression,
  type SuppressOptions,
} from './suppress.js';
export {
  KTable,
  GlobalKTable,
  type TableOptions,
  type TableSource,
  type StoreRead,
} from './table.js';
export type { StreamJoinOptions } from './stream-joins.js';
export { parseTopology, loadTopologyFile } from './yaml.js';
export { describe, toMermaid, toDot, toJson, toSvg } from './describe.js';
export {
  setDefaultCatalog,
  getDefaultCatalog,
  typeInfo,
  declaredStores,
  overlayCatalog,
  type ProcessorCatalog,
  type ProcessorTypeInfo,
  type ProcessorTypeDefinition,
  type DeclaredStores,
  type OptionsSchema,
  type OutputsOf,
} from './catalog.js';
