/**
 * An error and the errors behind it: its `cause` chain (kafkajs's "retries exceeded" wraps
 * the retried error in `originalError`), and the errors of an aggregate (`errors`), depth
 * first. Each error once, so a cycle ends the walk.
 */
export function* errorChain(err: unknown): Generator<KafkaLikeError> {
  const seen = new Set<unknown>();
  const stack: unknown[] = [err];
  while (stack.length) {
    const e = stack.pop();
    if (!e || typeof e !== 'object' || seen.has(e)) continue;
    seen.add(e);
    const k = e as KafkaLikeError;
    yield k;
    if (Array.isArray(k.errors)) stack.push(...[...k.errors].reverse());
    stack.push(k.cause ?? k.originalError);
  }
}

/** The fields of kafkajs's and millrace's errors the runtime looks at. */
export interface KafkaLikeError {
  type?: unknown;
  retriable?: unknown;
  cause?: unknown;
  originalError?: unknown;
  errors?: unknown[];
}

/** True if the error, or one behind it, is a Kafka error of one of these types. */
export function hasErrorType(err: unknown, types: ReadonlySet<string>): boolean {
  for (const e of errorChain(err)) if (typeof e.type === 'string' && types.has(e.type)) return true;
  return false;
}

const RETRIABLE_TYPES =
  /NOT_LEADER|LEADER_NOT_AVAILABLE|UNKNOWN_TOPIC_OR_PARTITION|COORDINATOR_LOAD_IN_PROGRESS|NOT_COORDINATOR|REBALANCE_IN_PROGRESS|OPERATION_NOT_ATTEMPTED/;

/**
 * Errors Kafka marks retriable (a leader moving, a coordinator loading), anywhere in the
 * cause chain ("retries exceeded" wraps the retried error). OPERATION_NOT_ATTEMPTED counts
 * too: the broker skipped a partition because another one of the same request failed.
 */
export function isRetriable(err: unknown): boolean {
  for (const e of errorChain(err)) {
    if (e.retriable === true) return true;
    if (RETRIABLE_TYPES.test(String(e.type ?? ''))) return true;
  }
  return false;
}

/**
 * Runs `fn`, again after a backoff (0.1 s doubling to 2 s, jittered) while it fails
 * retriably: `attempts` times (default 8), or, with `forMs`, for as long as that lasts —
 * for steps that must ride out a broker that is down or coordinators moving (Kafka
 * Streams' task.timeout.ms plays the same part). A non-retriable error is thrown at once.
 */
export async function withRetries<T>(
  what: string,
  fn: () => Promise<T>,
  opts: {
    attempts?: number;
    forMs?: number;
    onRetry?: (err: unknown, attempt: number) => void;
  } = {},
): Promise<T> {
  const deadline = opts.forMs === undefined ? Infinity : Date.now() + opts.forMs;
  const attempts = opts.forMs === undefined ? (opts.attempts ?? 8) : Infinity;
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      const wait = Math.min(2000, 100 * 2 ** i) * (0.5 + Math.random() / 2);
      if (i >= attempts || Date.now() + wait > deadline || !isRetriable(err)) throw err;
      opts.onRetry?.(err, i);
      await new Promise((r) => setTimeout(r, wait));
    }
  }
}
