import { appTopics, fetchStatus, withAdmin, type AppStatus } from '../../runtime/admin/index.js';
import { resolveTarget, TARGET_FLAGS, TARGET_HELP } from '../app-target.js';
import { parseArgs } from '../args.js';
import { EXIT, UsageError } from '../errors.js';
import { table } from '../table.js';
import type { Command } from '../command.js';

export const statusCommand: Command = {
  name: 'status',
  summary:
    "Show an app's consumer group: members, which member runs which task, committed offsets and lag",
  usage:
    'millrace status <topology.yaml | app.ts | app folder> [--app-id ID] [--brokers H:P,…] [--json]',
  async run(argv) {
    const a = parseArgs(argv, { values: TARGET_FLAGS, booleans: ['json'] });
    if (a.flags.help) return this.help();
    if (a.positionals.length !== 1)
      throw new UsageError(
        `${a.positionals.length ? 'one app at a time' : 'which app?'} — usage: ${this.usage}`,
      );
    const t = await resolveTarget(a.positionals[0]!, a.flags);
    const app = appTopics(t.topology, t.applicationId);
    const status = await withAdmin(t.brokers, `${t.applicationId}-status`, (admin) =>
      fetchStatus(admin, app),
    );
    process.stdout.write(
      a.flags.json ? JSON.stringify(status, null, 2) + '\n' : formatStatus(status),
    );
    return EXIT.ok;
  },
  help() {
    process.stdout.write(
      `${this.usage}\n\n${this.summary}.\n\n` +
        TARGET_HELP +
        `  --json             print the status as JSON (members, tasks with owners, partitions, totalLag)\n` +
        `Lag is end offset − committed offset per source partition (end − log start when nothing is committed);\n` +
        `under exactly_once, transaction markers in repartition topics show as a few offsets of lag.\n` +
        `Exit codes: 0 ok, 2 bad arguments, 3 Kafka unreachable.\n`,
    );
    return EXIT.ok;
  },
};

const NO_MEMBERS: Record<string, string> = {
  Empty: 'no instance is running',
  Dead: 'the group has no committed offsets: the app never committed, or its offsets expired',
};

/** The status as text: a header, the members and their tasks, then one row per source partition. */
export function formatStatus(s: AppStatus): string {
  const out: string[] = [];
  const n = s.members.length;
  out.push(
    `application ${s.applicationId}: group ${s.groupState}, ${n ? `${n} member${n > 1 ? 's' : ''}` : 'no members'}` +
      (s.protocol && n ? ` (protocol ${s.protocol})` : '') +
      '\n',
  );
  if (!n)
    out.push(`no active members: ${NO_MEMBERS[s.groupState] ?? 'the group is between states'}\n`);
  if (s.missingTopics.length) out.push(`input topic(s) missing: ${s.missingTopics.join(', ')}\n`);
  if (n) out.push('\n' + membersTable(s));
  const client = new Map(s.members.map((m) => [m.memberId, m.clientId]));
  if (s.partitions.length)
    out.push(
      '\n' +
        table(
          ['TOPIC', 'PARTITION', 'TASK', 'OWNER', 'COMMITTED', 'END', 'LAG'],
          s.partitions.map((p) => [
            p.topic,
            p.partition,
            p.task,
            p.owner === null ? '-' : (client.get(p.owner) ?? p.owner),
            p.committed ?? '-',
            p.end,
            p.lag,
          ]),
        ),
    );
  out.push(`\ntotal lag: ${s.totalLag}\n`);
  out.push(formatHealth(s));
  return out.join('');
}

/** Members and their tasks; standbys and query endpoints when any member has them. */
function membersTable(s: AppStatus): string {
  const extra = s.members.some((m) => m.standbyTasks?.length || m.endpoint);
  const head = ['MEMBER', 'CLIENT', 'HOST', 'TASKS', ...(extra ? ['STANDBYS', 'QUERIES'] : [])];
  return table(
    head,
    s.members.map((m) => [
      m.memberId,
      m.clientId,
      m.host,
      m.tasks.join(',') || '(none)',
      ...(extra ? [m.standbyTasks?.join(',') || '-', m.endpoint ?? '-'] : []),
    ]),
  );
}

/** Topics with partitions that have no leader or too few in-sync replicas, and why it matters. */
function formatHealth(s: AppStatus): string {
  const out: string[] = [];
  if (s.unavailableTopics.length)
    out.push(
      `\noffsets unavailable (a partition has no leader): ${s.unavailableTopics.join(', ')}\n`,
    );
  const sick = s.topics.filter(
    (t) =>
      t.leaderless.length ||
      t.underReplicated.length ||
      (t.minInsyncReplicas !== undefined && t.replicationFactor < t.minInsyncReplicas),
  );
  if (!sick.length) return out.join('');
  out.push(
    '\n' +
      table(
        ['TOPIC', 'RF', 'MIN ISR', 'LEADERLESS', 'UNDER-REPLICATED'],
        sick.map((t) => [
          t.topic,
          t.replicationFactor,
          t.minInsyncReplicas ?? '-',
          t.leaderless.join(',') || '-',
          t.underReplicated.join(',') || '-',
        ]),
      ),
  );
  out.push(
    'leaderless partitions can be neither read nor written until a replica holding them returns;\n' +
      'under-replicated ones stop taking writes when fewer than MIN ISR replicas are in sync.\n',
  );
  return out.join('');
}
