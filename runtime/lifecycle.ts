/**
 * The states of the stream thread and of its tasks, and the moves allowed between them
 * (Kafka Streams' StreamThread.State and Task.State, in this runtime's words). Every move
 * goes through a StateMachine, which refuses a move not listed here.
 *
 * Stream thread
 * ```
 *   created ──start──► starting ──assignment──► partitions_assigned ──all tasks running──► running
 *                         │                       ▲        │    ▲                              │
 *                         │            assignment │        │    └────── assignment ────────────┤
 *                         │                       │        ▼                                   │
 *                         └─────before join─────► partitions_revoked ◄──── before join ────────┘
 *   any of the above ──stop──► pending_shutdown ──stopped──► dead
 *   any of the above ──fatal error──► failed
 * ```
 * `partitions_revoked`: every task committed ahead of a rejoin (or the consumer is
 * restarting); nothing is processed, punctuated or committed until the next assignment.
 * `partitions_assigned`: the assignment is known, some tasks still restore; the running
 * ones process. A second assignment may come without a rejoin callback (kafkajs restarts
 * its consumer after some errors), hence partitions_assigned and running may move to
 * partitions_assigned directly.
 *
 * Task
 * ```
 *   created ──restore──► restoring ──restored, offsets sought──► running
 *      │                    │                                      │
 *      │                    ├──fenced / expelled──► suspended ◄────┤
 *      │                    │                          │           │
 *      └──────── close ─────┴──────── close ───────────┴► closed ◄─┘ close (clean or dirty)
 * ```
 * `suspended`: its work may no longer be committed (fenced, expelled); it is closed dirty.
 *
 * Standby task (a warm copy of another instance's task: runtime/standby.ts)
 * ```
 *   created ──stores open, position from the checkpoint──► running ──close──► closed
 *      └──────────────────────────── close ─────────────────────────────────────┘
 * ```
 * `running`: its stores take the committed records of the task's changelogs as they come
 * and its position is checkpointed; it never processes nor commits. A standby that becomes
 * active closes (checkpoint written) and the active task is created from that checkpoint.
 */
import type { Transitions } from './state-machine.js';

export type ThreadState =
  | 'created'
  | 'starting'
  | 'partitions_revoked'
  | 'partitions_assigned'
  | 'running'
  | 'pending_shutdown'
  | 'dead'
  | 'failed';

export const THREAD_TRANSITIONS: Transitions<ThreadState> = {
  created: ['starting', 'pending_shutdown', 'failed'],
  starting: ['partitions_revoked', 'partitions_assigned', 'pending_shutdown', 'failed'],
  partitions_revoked: ['partitions_revoked', 'partitions_assigned', 'pending_shutdown', 'failed'],
  partitions_assigned: [
    'partitions_revoked',
    'partitions_assigned',
    'running',
    'pending_shutdown',
    'failed',
  ],
  running: ['partitions_revoked', 'partitions_assigned', 'pending_shutdown', 'failed'],
  pending_shutdown: ['dead'],
  dead: [],
  failed: ['pending_shutdown'],
};

export type TaskState = 'created' | 'restoring' | 'running' | 'suspended' | 'closed';

export const TASK_TRANSITIONS: Transitions<TaskState> = {
  created: ['restoring', 'closed'],
  restoring: ['running', 'suspended', 'closed'],
  running: ['suspended', 'closed'],
  suspended: ['closed'],
  closed: [],
};

export type StandbyState = 'created' | 'running' | 'closed';

export const STANDBY_TRANSITIONS: Transitions<StandbyState> = {
  created: ['running', 'closed'],
  running: ['closed'],
  closed: [],
};
