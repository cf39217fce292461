import {
  appTopics,
  applyReset,
  fetchResetPlan,
  withAdmin,
  type ResetPlan,
  type ResetTarget,
} from '../../runtime/admin/index.js';
import { resolveTarget, TARGET_FLAGS, TARGET_HELP } from '../app-target.js';
import { parseArgs } from '../args.js';
import { EXIT, UsageError } from '../errors.js';
import type { Command } from '../command.js';

export const resetCommand: Command = {
  name: 'reset',
  summary:
    'Reset an app to reprocess its inputs: rewind its input offsets, delete its internal topics and local state',
  usage:
    'millrace reset <topology.yaml | app.ts | app folder> [--app-id ID] [--brokers H:P,…] [--state-dir DIR] [--to-datetime ISO | --to-timestamp MS] [--dry-run]',
  async run(argv) {
    const a = parseArgs(argv, {
      values: [...TARGET_FLAGS, 'to-datetime', 'to-timestamp'],
      booleans: ['dry-run'],
    });
    if (a.flags.help) return this.help();
    if (a.positionals.length !== 1)
      throw new UsageError(
        `${a.positionals.length ? 'one app at a time' : 'which app?'} — usage: ${this.usage}`,
      );
    const target = resetTarget(a.flags);
    const t = await resolveTarget(a.positionals[0]!, a.flags);
    const app = appTopics(t.topology, t.applicationId);
    const dryRun = a.flags['dry-run'] === true;
    const say = (line: string) => process.stdout.write(line + '\n');
    await withAdmin(t.brokers, `${t.applicationId}-reset`, async (admin) => {
      const plan = await fetchResetPlan(admin, app, target, t.stateDir);
      if (dryRun) return void process.stdout.write(formatPlan(plan, true));
      await applyReset(admin, plan, (line) => say(`… ${line}`));
      process.stdout.write(formatPlan(plan, false));
    });
    return EXIT.ok;
  },
  help() {
    process.stdout.write(
      `${this.usage}\n\n${this.summary}.\n\n` +
        `Refuses while the app's consumer group has members: stop every instance first.\n` +
        `Then: commits the group's offsets on the input topics to the earliest offset (or the first record at or\n` +
        `after --to-datetime/--to-timestamp), deletes the changelog and repartition topics the topology declares\n` +
        `(<app-id>-…-changelog, <app-id>-…-repartition; nothing else), and removes <state-dir>/<app-id>.\n` +
        `Output topics and the dead-letter topic are left as they are.\n\n` +
        TARGET_HELP +
        `  --state-dir DIR    local state (default MILLRACE_STATE_DIR or .millrace/state)\n` +
        `  --to-datetime ISO  rewind to the first record at or after this time (e.g. 2026-11-25T08:00:00Z)\n` +
        `  --to-timestamp MS  the same, as epoch milliseconds\n` +
        `  --dry-run          print what would be done and change nothing\n` +
        `Exit codes: 0 done, 2 bad arguments or the app still running, 3 Kafka unreachable.\n`,
    );
    return EXIT.ok;
  },
};

/** Where to rewind to, from --to-datetime / --to-timestamp (default: earliest). */
export function resetTarget(flags: Record<string, string | true>): ResetTarget {
  const dt = flags['to-datetime'];
  const ts = flags['to-timestamp'];
  if (dt !== undefined && ts !== undefined)
    throw new UsageError('give --to-datetime or --to-timestamp, not both');
  if (typeof ts === 'string') {
    if (!/^\d+$/.test(ts))
      throw new UsageError(
        `--to-timestamp: "${ts}" is not epoch milliseconds (e.g. 1764057600000)`,
      );
    return { kind: 'timestamp', timestamp: Number(ts) };
  }
  if (typeof dt === 'string') {
    const ms = /^\d{4}-\d{2}-\d{2}/.test(dt) ? Date.parse(dt) : NaN;
    if (Number.isNaN(ms))
      throw new UsageError(
        `--to-datetime: "${dt}" is not an ISO date-time; write e.g. 2026-11-25T08:00:00Z`,
      );
    return { kind: 'timestamp', timestamp: ms };
  }
  return { kind: 'earliest' };
}

function targetText(t: ResetTarget): string {
  return t.kind === 'earliest'
    ? 'earliest'
    : `the first record at or after ${new Date(t.timestamp).toISOString()} (${t.timestamp})`;
}

/** The plan as text: what would be done (`dryRun`) or what was done. */
export function formatPlan(p: ResetPlan, dryRun: boolean): string {
  const will = (doing: string, done: string) => (dryRun ? doing : done);
  const out: string[] = [
    dryRun
      ? `dry run: reset of application ${p.applicationId} would do the following (nothing was changed)\n`
      : `reset of application ${p.applicationId} done\n`,
  ];
  const topics = new Set(p.offsets.map((o) => o.topic));
  out.push(
    `${will('commit', 'committed')} ${p.offsets.length} offset(s) on ${topics.size} input topic(s) to ${targetText(p.target)}` +
      (p.offsets.length ? ':\n' : '\n'),
  );
  for (const o of p.offsets)
    out.push(`  ${o.topic} [${o.partition}]: ${o.from ?? 'none'} → ${o.to}\n`);
  if (p.missingInputs.length)
    out.push(`  input topic(s) missing, nothing to rewind: ${p.missingInputs.join(', ')}\n`);
  out.push(
    `${will('delete', 'deleted')} ${p.deleteTopics.length} internal topic(s)` +
      (p.deleteTopics.length ? ':\n' : '\n'),
  );
  for (const t of p.deleteTopics) out.push(`  ${t}\n`);
  if (p.keptTopics.length)
    out.push(
      `left alone (named like this app's internal topics, but not declared by its topology; delete them by hand if they are its): ${p.keptTopics.join(', ')}\n`,
    );
  out.push(
    p.removeStateDir
      ? `${will('remove', 'removed')} local state ${p.removeStateDir}\n`
      : 'no local state to remove\n',
  );
  return out.join('');
}
