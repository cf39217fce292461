/**
 * An admin client for the operations commands (`status`, `reset`): fails fast, and an
 * unreachable cluster becomes a `StreamsError` (domain `external`) that names the
 * bootstrap servers and the fix.
 */
import type { Admin } from 'kafkajs';
import { createKafka } from '../../connectors/kafka/client.js';
import { StreamsError } from '../errors.js';

export function unreachable(brokers: string[], err: unknown): StreamsError {
  return new StreamsError(
    `cannot reach Kafka at ${brokers.join(',')} (${(err as Error)?.message ?? String(err)}); ` +
      'start the broker (locally: `npm run infra:up`) or point at the right one with --brokers host:port ' +
      'or MILLRACE_BOOTSTRAP_SERVERS',
    { code: 'KAFKA_UNREACHABLE', domain: 'external', retriable: true, cause: err },
  );
}

const CONNECTION_ERRORS =
  /KafkaJSConnectionError|KafkaJSNumberOfRetriesExceeded|KafkaJSBrokerNotFound|KafkaJSRequestTimeoutError|ECONNREFUSED|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND/;

/** True when `err` says the cluster could not be reached (rather than refusing a request). */
export function isConnectionError(err: unknown): boolean {
  const e = err as { name?: string; message?: string; cause?: unknown } | undefined;
  return CONNECTION_ERRORS.test(`${e?.name ?? ''} ${e?.message ?? ''}`);
}

/** Runs `fn` with a connected admin client and always disconnects it. */
export async function withAdmin<T>(
  brokers: string[],
  clientId: string,
  fn: (admin: Admin) => Promise<T>,
): Promise<T> {
  const admin = createKafka({ brokers, clientId, retries: 2, connectionTimeoutMs: 3000 }).admin();
  try {
    await admin.connect();
  } catch (err) {
    throw unreachable(brokers, err);
  }
  try {
    return await fn(admin);
  } catch (err) {
    throw isConnectionError(err) ? unreachable(brokers, err) : err;
  } finally {
    await admin.disconnect().catch(() => {});
  }
}
