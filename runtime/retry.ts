/**
 * Errors Kafka marks retriable (a leader moving, a coordinator loading), anywhere in the
 * cause chain ("retries exceeded" wraps the retried error). OPERATION_NOT_ATTEMPTED counts
 * too: the broker skipped a partition because another one of the same request failed.
 */
export function isRetriable(err: unknown): boolean {
  for (let e: any = err; e; e = e.cause ?? e.originalError) {
    if (e.retriable === true) return true;
    if (
      /NOT_LEADER|LEADER_NOT_AVAILABLE|UNKNOWN_TOPIC_OR_PARTITION|COORDINATOR_LOAD_IN_PROGRESS|NOT_COORDINATOR|REBALANCE_IN_PROGRESS|OPERATION_NOT_ATTEMPTED/.test(
        String(e.type ?? ''),
      )
    )
      return true;
    if (e === e.cause) break;
  }
  return false;
}

export async function withRetries<T>(
  what: string,
  fn: () => Promise<T>,
  opts: { attempts?: number; onRetry?: (err: unknown, attempt: number) => void } = {},
): Promise<T> {
  const attempts = opts.attempts ?? 8;
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (i >= attempts || !isRetriable(err)) throw err;
      opts.onRetry?.(err, i);
      await new Promise((r) =>
        setTimeout(r, Math.min(2000, 100 * 2 ** i) * (0.5 + Math.random() / 2)),
      );
    }
  }
}
