/**
 * Graceful shutdown on SIGTERM/SIGINT: the first signal finishes the record in hand,
 * commits, closes stores and leaves the group; a second signal exits at once.
 */
export interface Closable {
  close(): Promise<void>;
}

export function closeOnSignals(
  target: Closable,
  opts: { onClosed?: () => void; log?: (msg: string) => void } = {},
): () => void {
  let closing = false;
  const handler = (signal: NodeJS.Signals) => {
    if (closing) {
      opts.log?.(`second ${signal}: exiting now`);
      process.exit(130);
    }
    closing = true;
    opts.log?.(`${signal}: committing and closing (send it again to exit at once)`);
    target.close().then(
      () => opts.onClosed?.(),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
  return () => {
    process.off('SIGTERM', handler);
    process.off('SIGINT', handler);
  };
}
