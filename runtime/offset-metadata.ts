/**
 * What a task stores in the metadata of its committed offsets: its stream time (the
 * highest record timestamp it processed), as Kafka Streams stores partition time there.
 * It is committed with the offsets — in the same transaction under exactly-once — so a
 * task that moves or restarts resumes with the stream time its state was committed at:
 * a record that was late before a crash is late after it, and a window closed once is
 * not opened again. Written as a small JSON object so that other tools show it readably.
 */

const VERSION = 1;

export function encodeOffsetMetadata(streamTime: number): string | null {
  return streamTime >= 0 ? JSON.stringify({ v: VERSION, streamTime }) : null;
}

/** The stream time in a committed offset's metadata; undefined when there is none or it is not ours. */
export function decodeOffsetMetadata(metadata: string | null | undefined): number | undefined {
  if (!metadata) return undefined;
  try {
    const m = JSON.parse(metadata) as { v?: unknown; streamTime?: unknown };
    if (m.v !== VERSION || typeof m.streamTime !== 'number') return undefined;
    return Number.isSafeInteger(m.streamTime) && m.streamTime >= 0 ? m.streamTime : undefined;
  } catch {
    return undefined;
  }
}
