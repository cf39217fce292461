/** What the soak drives, whichever app it runs (bench/soak.ts). */
import type { Kafka } from 'kafkajs';
import type { KafkaCluster } from '../../deploy/local/kafka.js';
import type { Child } from '../../harness/processes.js';

export interface SoakOptions {
  minutes: number;
  app: 'pipeline' | 'count';
  guarantee: 'exactly_once' | 'at_least_once';
  seed: number;
  /** Trades (pipeline) or records (count) per second the producer writes. */
  rate: number;
  partitions: number;
  brokerEveryS: number;
  brokerDownS: number;
  killMinS: number;
  killMaxS: number;
}

export interface SoakContext {
  cluster: KafkaCluster;
  kafka: Kafka;
  /** Scratch folder (state directories, the DuckDB file). */
  work: string;
  log: (m: string) => void;
  registryUrl: string;
}

/** What the producer says it wrote (acknowledged). */
export interface Produced {
  records: number;
  detail: Record<string, unknown>;
}

export interface Verdict {
  /** Input records (trades in trades.raw; records of the count input). */
  recordsIn: number;
  /** Output records (trades rows in the warehouse; count outputs). */
  recordsOut: number;
  /** Inputs whose effect is missing from the outputs, acknowledged inputs missing included. */
  lost: number;
  /** Outputs more than once (read_committed). */
  duplicated: number;
  /** Outputs that the input does not explain, or with wrong figures. */
  wrong: number;
  detail: Record<string, unknown>;
  examples: string[];
}

export interface Fleet {
  /** Tasks the app has in all. */
  tasks: number;
  startInstance(name: string): Child;
  /** Tasks `c` reports running now ([] while it starts). */
  runningTasks(c: Child): Promise<string[]>;
  startProducer(): Promise<void>;
  stopProducer(): Promise<Produced>;
  /** Waits for the apps to catch up, stops them, and compares outputs with the input. */
  verify(produced: Produced, instances: Child[]): Promise<Verdict>;
  close(): Promise<void>;
}
