/** Exit codes of the `millrace` command: 0 ok, 2 user error, 3 a server unreachable, 1 internal. */
export const EXIT = { ok: 0, internal: 1, user: 2, external: 3 } as const;

export class UsageError extends Error {
  readonly domain = 'user' as const;
}

/** Maps an error to an exit code by its domain (`user`, `external`, `internal`). */
export function exitCodeFor(err: unknown): number {
  const domain = (err as { domain?: string })?.domain;
  if (domain === 'user' || err instanceof UsageError || (err as Error)?.name === 'TopologyError')
    return EXIT.user;
  if (
    domain === 'external' ||
    (err as Error)?.name === 'InfraError' ||
    /ECONNREFUSED|KafkaJSConnectionError|KafkaJSNumberOfRetriesExceeded/.test(
      String((err as Error)?.name ?? '') + String((err as Error)?.message ?? ''),
    )
  )
    return EXIT.external;
  return EXIT.internal;
}
