/**
 * The one place that builds kafkajs clients. Everything else asks for a `Kafka`
 * through here so a faster client can replace kafkajs later.
 */
import { Kafka, logLevel, type KafkaConfig } from 'kafkajs';

export interface KafkaClientOptions {
  brokers: string[];
  clientId: string;
  /** kafkajs's own logging; off by default (millrace logs what matters). */
  logLevel?: 'nothing' | 'error' | 'warn' | 'info' | 'debug';
  connectionTimeoutMs?: number;
  requestTimeoutMs?: number;
  retries?: number;
}

const levels = {
  nothing: logLevel.NOTHING,
  error: logLevel.ERROR,
  warn: logLevel.WARN,
  info: logLevel.INFO,
  debug: logLevel.DEBUG,
};

export function createKafka(opts: KafkaClientOptions): Kafka {
  const config: KafkaConfig = {
    clientId: opts.clientId,
    brokers: opts.brokers,
    logLevel: levels[opts.logLevel ?? 'nothing'],
    connectionTimeout: opts.connectionTimeoutMs ?? 3000,
    requestTimeout: opts.requestTimeoutMs ?? 30000,
    retry: { retries: opts.retries ?? 5, initialRetryTime: 100, maxRetryTime: 3000 },
  };
  return new Kafka(config);
}
