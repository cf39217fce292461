import { KafkaJSProtocolError } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { isTransient } from './commits.js';
import { MillraceError } from './errors.js';

const commitError = (cause: unknown, retriable = true) =>
  new MillraceError('task 0_0 could not commit', {
    code: 'COMMIT_FAILED',
    domain: 'external',
    retriable,
    cause,
  });

// As kafkajs builds them from the broker's error codes (src/protocol/error.js).
const CODES: Record<number, { type: string; retriable: boolean }> = {
  [-1]: { type: 'UNKNOWN', retriable: false },
  16: { type: 'NOT_COORDINATOR_FOR_GROUP', retriable: true },
  51: { type: 'CONCURRENT_TRANSACTIONS', retriable: true },
  53: { type: 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED', retriable: false },
};
const protocolError = (code: number) =>
  new KafkaJSProtocolError(Object.assign(new Error(CODES[code]!.type), { code, ...CODES[code]! }));

describe('which commit failures are rolled back and retried', () => {
  it('a coordinator moving or a broker restarting (retriable to the client)', () => {
    expect(isTransient(commitError(protocolError(16)))).toBe(true); // NOT_COORDINATOR
    expect(isTransient(commitError(protocolError(51)))).toBe(true); // CONCURRENT_TRANSACTIONS
  });

  it('UNKNOWN_SERVER_ERROR, which a broker in controlled shutdown answers', () => {
    expect(protocolError(-1).type).toBe('UNKNOWN');
    expect(isTransient(commitError(protocolError(-1)))).toBe(true);
  });

  it('not a permanent error, nor one millrace did not mark retriable', () => {
    expect(isTransient(commitError(protocolError(53)))).toBe(false); // TRANSACTIONAL_ID_AUTHORIZATION_FAILED
    expect(isTransient(commitError(protocolError(-1), false))).toBe(false);
    expect(isTransient(protocolError(16))).toBe(false);
  });
});
