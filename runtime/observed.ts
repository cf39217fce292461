/**
 * What observability/ sees of the runtime besides `StreamsApp` itself: the types of the
 * hooks a running instance reports through, the reasons it may dead-letter a record for,
 * and where a task's store lives on disk. observability/ reads these here rather than in
 * processors/ or state/, which it does not import (docs/architecture.md).
 */
import { BUILTIN_DEAD_LETTER_REASONS } from '../processors/dead-letter-reasons.js';
import { storeDir } from '../state/index.js';
import { RECORD_FAILURE_REASONS } from './task/errors.js';

export type { ProcessorMetrics } from '../processors/api.js';
export type { StoreMetrics } from '../state/index.js';

/**
 * The `reason`s of dead letters that the runtime (deserialization and processing failures)
 * and the built-in processors give; a user's processor may add its own.
 */
export const DEAD_LETTER_REASONS: readonly string[] = [
  ...RECORD_FAILURE_REASONS,
  ...BUILTIN_DEAD_LETTER_REASONS,
];

/** The directory holding store `store` of task `taskId` under the instance's state directory. */
export function storeDirectory(
  config: { stateDir: string; applicationId: string },
  taskId: string,
  store: string,
): string {
  return storeDir(config.stateDir, config.applicationId, taskId, store);
}
