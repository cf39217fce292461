/** millrace topologies: the spec, the builder, YAML files, validation, description and diagrams. */
export * from './spec.js';
export { TopologyError } from './errors.js';
export {
  buildTopology,
  BuiltTopology,
  type BuildOptions,
  type Subtopology,
  type InternalTopic,
} from './build.js';
export {
  TopologyBuilder,
  KStream,
  DEFAULT_SERDES,
  type Rec,
  type Serdes,
  type ProcessOptions,
} from './builder.js';
export {
  KGroupedStream,
  TimeWindowedStream,
  tumbling,
  hopping,
  type Windowed,
  type TumblingWindow,
  type AggregateOptions,
  type KeyValueAggregateOptions,
} from './grouped.js';
export { KTable, type TableOptions } from './table.js';
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
} from './catalog.js';
