/** `millrace/testing`: run topologies in-process without a broker. */
export {
  TopologyTestDriver,
  type DriverOptions,
  type TestRecord,
} from './runtime/testing/driver.js';
