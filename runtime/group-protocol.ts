/**
 * What millrace members tell the group's leader when they join (the subscription's
 * userData) and what the leader tells every member back (the assignment's userData): JSON,
 * versioned, every field but `previousTasks` optional, so members of an older millrace that
 * send only `previousTasks` (and read only `tasks`) still take part.
 *
 * Member → leader (version 2): the tasks it ran, its instance (`client`), the endpoint
 * (`host:port`) where it serves interactive queries, and the standby tasks it keeps with how
 * far each is behind its changelog. Leader → member: its active and standby tasks, and every
 * member's endpoint with its tasks: the map from task to instance that lets any instance
 * answer for any key (Kafka Streams' StreamsMetadata).
 */

/** What a member sends when it joins. */
export interface MemberUserData {
  /** Tasks it ran in the previous generation. */
  previousTasks: string[];
  /** Its instance (process): members of one instance share it. */
  client?: string;
  /** Where it serves interactive queries (`host:port`), if it does. */
  endpoint?: string;
  /** Standby tasks it kept. */
  standbyTasks?: string[];
  /** Per standby task, the changelog records its stores are behind the end. */
  taskLags?: Record<string, number>;
}

/** One member as every member learns it from the assignment. */
export interface MemberEndpoint {
  /** The member's id in the group (absent from an older leader). */
  memberId?: string;
  /** `host:port`, or null when the member serves no queries (an older millrace, or none configured). */
  endpoint: string | null;
  client: string | null;
  active: string[];
  standby: string[];
}

/** What each member receives with its assignment. */
export interface AssignmentUserData {
  /** Its active tasks. */
  tasks: string[];
  /** Its standby tasks. */
  standbyTasks: string[];
  /** Every member of the group with its tasks (empty from a leader of an older millrace). */
  members: MemberEndpoint[];
}

export const PROTOCOL_VERSION = 2;

const strings = (v: unknown): string[] =>
  Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
const text = (v: unknown): string | undefined =>
  typeof v === 'string' && v.length > 0 ? v : undefined;

function parse(buf: Buffer | null | undefined): Record<string, unknown> {
  if (!buf || buf.length === 0) return {};
  try {
    const v = JSON.parse(buf.toString('utf8')) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

export function encodeMemberUserData(d: MemberUserData): Buffer {
  return Buffer.from(JSON.stringify({ version: PROTOCOL_VERSION, ...d }));
}

/** Reads a member's userData; anything unreadable counts as a member that ran nothing. */
export function decodeMemberUserData(buf: Buffer | null | undefined): MemberUserData {
  const o = parse(buf);
  const out: MemberUserData = { previousTasks: strings(o.previousTasks) };
  const client = text(o.client);
  if (client) out.client = client;
  const endpoint = text(o.endpoint);
  if (endpoint) out.endpoint = endpoint;
  const standby = strings(o.standbyTasks);
  if (standby.length) out.standbyTasks = standby;
  if (o.taskLags && typeof o.taskLags === 'object') {
    const lags: Record<string, number> = {};
    for (const [t, n] of Object.entries(o.taskLags as Record<string, unknown>))
      if (typeof n === 'number' && Number.isFinite(n) && n >= 0) lags[t] = n;
    if (Object.keys(lags).length) out.taskLags = lags;
  }
  return out;
}

export function encodeAssignmentUserData(d: AssignmentUserData): Buffer {
  return Buffer.from(JSON.stringify({ version: PROTOCOL_VERSION, ...d }));
}

/** Reads the assignment's userData (a leader of an older millrace sends only `tasks`). */
export function decodeAssignmentUserData(buf: Buffer | null | undefined): AssignmentUserData {
  const o = parse(buf);
  const members = Array.isArray(o.members)
    ? o.members.flatMap((m): MemberEndpoint[] => {
        if (!m || typeof m !== 'object') return [];
        const r = m as Record<string, unknown>;
        const memberId = text(r.memberId);
        return [
          {
            ...(memberId ? { memberId } : {}),
            endpoint: text(r.endpoint) ?? null,
            client: text(r.client) ?? null,
            active: strings(r.active),
            standby: strings(r.standby),
          },
        ];
      })
    : [];
  return { tasks: strings(o.tasks), standbyTasks: strings(o.standbyTasks), members };
}
