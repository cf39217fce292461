/**
 * What an instance is to its group besides its active tasks: the standby tasks it keeps
 * (runtime/standby.ts), the endpoint where it answers interactive queries, and what it last
 * learnt from the leader about every member — which instance runs, and which keeps copies
 * of, which task (Kafka Streams' StreamsMetadata). The stream thread reaches it through
 * its hooks (`ThreadHooks`).
 */
import os from 'node:os';
import path from 'node:path';
import type { Admin, Kafka } from 'kafkajs';
import type { StreamsConfig } from './config.js';
import { decodeAssignmentUserData, type MemberEndpoint } from './group-protocol.js';
import type { Logger } from './log.js';
import { endOffsets } from './restore.js';
import { StandbyManager, type StandbyFactory, type StandbyTask } from './standby.js';
import type { ThreadHooks } from './stream-thread.js';

/** The group as the latest assignment described it. */
export interface GroupSnapshot {
  /** The group generation of the assignment. */
  generation: number;
  /** When this member received it (epoch ms). */
  receivedAt: number;
  /** This member's active and standby tasks. */
  active: string[];
  standby: string[];
  /** Every member with its endpoint and tasks (empty when the leader runs an older millrace). */
  members: MemberEndpoint[];
}

/**
 * The instance a member belongs to, as far as standbys are concerned: its host and state
 * directory. Members that share a state directory (the stream threads of one instance) are
 * one instance: a copy of a task there would be the task's own directory.
 */
export function clientId(config: Pick<StreamsConfig, 'stateDir' | 'applicationId'>): string {
  return `${os.hostname()}:${path.join(path.resolve(config.stateDir), config.applicationId)}`;
}

export class GroupMember {
  readonly standbys: StandbyManager;
  private snapshot?: GroupSnapshot;
  private advertised?: string;

  constructor(
    kafka: Kafka,
    private readonly admin: Admin,
    private readonly config: StreamsConfig,
    factory: StandbyFactory,
    private readonly log: Logger,
    /** Whether a task has state (only those get standbys); default every task. */
    private readonly stateful?: (task: string) => boolean,
  ) {
    this.standbys = new StandbyManager(kafka, admin, config, factory, log);
  }

  /** Where this instance answers queries (`applicationServer`, else what `advertise` set). */
  get endpoint(): string | undefined {
    return this.config.applicationServer ?? this.advertised;
  }

  /** Sets the endpoint to advertise when `applicationServer` is not configured (before joining). */
  advertise(endpoint: string): void {
    this.advertised = endpoint;
  }

  /** The end offset of each partition of `topics` (`topic:partition` → offset). */
  changelogEnds(topics: string[]): Promise<Map<string, number>> {
    return endOffsets(this.admin, topics);
  }

  /** The group as the latest assignment described it; undefined before the first. */
  get group(): GroupSnapshot | undefined {
    return this.snapshot;
  }

  get standbyTasks(): ReadonlyMap<string, StandbyTask> {
    return this.standbys.tasks;
  }

  get hooks(): ThreadHooks {
    const c = this.config;
    return {
      assignor: {
        numStandbyReplicas: c.numStandbyReplicas,
        acceptableRecoveryLag: c.acceptableRecoveryLag,
        ...(this.stateful ? { stateful: this.stateful } : {}),
        member: {
          client: clientId(c),
          endpoint: () => this.endpoint,
          standbys: () => this.standbys.lags(),
        },
      },
      onAssignment: ({ generation, active, userData }) => {
        const d = decodeAssignmentUserData(userData);
        if (userData === null && c.numStandbyReplicas > 0)
          this.log.warn(
            'the assignment carries no userData: standbys and the group map need the patched kafkajs (group-join-user-data)',
          );
        this.snapshot = {
          generation,
          receivedAt: Date.now(),
          active,
          standby: d.standbyTasks,
          members: d.members,
        };
        this.standbys.assign(c.numStandbyReplicas > 0 ? d.standbyTasks : []);
        this.log.debug('group map', { generation, standby: d.standbyTasks, members: d.members });
      },
      beforeCreate: (active) => this.standbys.release(active),
      afterCreate: (activeHere) => this.standbys.reconcile(activeHere),
      stopped: () => this.standbys.close(),
    };
  }
}
