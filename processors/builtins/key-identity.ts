/**
 * A Map key for a record key: primitives are their own identity; Buffers go by their
 * bytes and other objects by their JSON, so two equal keys meet in one entry.
 */
export function keyIdentity(key: unknown): unknown {
  if (key === null || typeof key !== 'object') return key;
  if (Buffer.isBuffer(key)) return `b:${key.toString('base64')}`;
  return `j:${JSON.stringify(key)}`;
}
