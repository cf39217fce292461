/** The typed error a task throws when its failure handler says `fail`. */
import { MillraceError } from '../errors.js';

export const RECORD_FAILURE_REASONS = [
  'deserialization_error',
  'processing_error',
  'punctuation_error',
] as const;

export type RecordFailureReason = (typeof RECORD_FAILURE_REASONS)[number];

/**
 * A record (or punctuation) failed and the handler is `fail`. Carries where: task,
 * processor (or source), topic, partition, offset; the user's exception is its `cause`.
 * `code` is `DESERIALIZATION_ERROR`, `PROCESSING_ERROR` or `PUNCTUATION_ERROR`.
 */
export class RecordProcessingError extends MillraceError {
  constructor(
    readonly reason: RecordFailureReason,
    at: { task: string; processor: string; topic?: string; partition?: number; offset?: number },
    cause: unknown,
  ) {
    const where = at.topic === undefined ? '' : `, ${at.topic}[${at.partition}]@${at.offset}`;
    super(
      `${reason.replace('_', ' ')} in ${at.processor} (task ${at.task}${where}): ${messageOf(cause)}; fix the record or the processor, or set the ${reason === 'deserialization_error' ? 'deserialization' : 'processing'} error handler to continue or dead-letter`,
      { code: reason.toUpperCase(), domain: 'user', cause, at },
    );
  }
}

export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
