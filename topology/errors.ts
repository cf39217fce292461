/** A wiring error found by `build()`: the message names the node and the fix. */
export class TopologyError extends Error {
  readonly code: string;
  readonly domain = 'user' as const;
  readonly retriable = false;
  readonly node?: string;

  constructor(code: string, message: string, node?: string) {
    super(message);
    this.name = 'TopologyError';
    this.code = code;
    this.node = node;
  }
}
