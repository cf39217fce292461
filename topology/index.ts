/** millrace topologies: the spec, the builder, YAML files, validation, description and diagrams. */
export * from './spec.js';
export { TopologyError } from './errors.js';
export { buildTopology, BuiltTopology, type Subtopology, type InternalTopic } from './build.js';
export {
  TopologyBuilder,
  KStream,
  KGroupedStream,
  TimeWindowedStream,
  tumbling,
  type Rec,
  type Serdes,
  type Windowed,
  type TumblingWindow,
} from './builder.js';
export { parseTopology, loadTopologyFile } from './yaml.js';
export { describe, toMermaid, toDot, toJson, toSvg } from './describe.js';
export {
  setDefaultCatalog,
  getDefaultCatalog,
  type ProcessorCatalog,
  type ProcessorTypeInfo,
} from './catalog.js';
