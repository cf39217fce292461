/**
 * `millrace/testing`: run topologies in-process without a broker, with the same engine,
 * stores and punctuation as the Kafka runtime (see `TopologyTestDriver`).
 */
export {
  TopologyTestDriver,
  type DriverOptions,
  type TestRecord,
  type DeadLetter,
  type PipeOptions,
  type SerdeNames,
  type TestInputTopic,
  type TestOutputTopic,
} from './runtime/testing/driver.js';
export { DLQ_HEADERS } from './runtime/task/dead-letter.js';
