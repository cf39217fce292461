import { describe, expect, it } from 'vitest';
import {
  checkCanCreate,
  replicationFactorFor,
  replicationProblems,
  type TopicHealth,
} from './replication.js';

const cluster = { brokers: 3, defaultReplicationFactor: 3, minInsyncReplicas: 2 };
const health = (topic: string, rf: number, minIsr?: number): TopicHealth => ({
  topic,
  partitions: 4,
  replicationFactor: rf,
  minInsyncReplicas: minIsr,
  leaderless: [],
  underReplicated: [],
});

describe('replicationFactorFor', () => {
  it('takes the broker default for -1 and a configured number as is', () => {
    expect(replicationFactorFor(-1, cluster)).toBe(3);
    expect(replicationFactorFor(2, cluster)).toBe(2);
    expect(replicationFactorFor(-1, { ...cluster, defaultReplicationFactor: 1 })).toBe(1);
  });
});

describe('checkCanCreate', () => {
  it('needs as many brokers up as replicas only when there is something to create', () => {
    expect(() => checkCanCreate(3, { ...cluster, brokers: 2 }, [])).not.toThrow();
    expect(() => checkCanCreate(3, cluster, ['a-s-changelog'])).not.toThrow();
    const err = (() => {
      try {
        checkCanCreate(3, { ...cluster, brokers: 2 }, ['a-s-changelog']);
      } catch (e) {
        return e as { message: string; retriable: boolean; code: string };
      }
    })();
    expect(err).toMatchObject({ code: 'NOT_ENOUGH_BROKERS', retriable: true });
    expect(err!.message).toMatch(
      /a-s-changelog\) with replication factor 3 needs 3 brokers, and 2 answer: start the missing broker\(s\), or set replicationFactor \(MILLRACE_REPLICATION_FACTOR\)/,
    );
  });
});

describe('replicationProblems', () => {
  it('is fatal below min.insync.replicas, a warning below what was asked, silent otherwise', () => {
    const problems = replicationProblems(
      [health('a-s-changelog', 1, 2), health('a-r-repartition', 2, 2), health('a-dlq', 3, 2)],
      3,
      'a',
    );
    expect(problems.map((p) => [p.topic, p.severity])).toEqual([
      ['a-s-changelog', 'fatal'],
      ['a-r-repartition', 'warning'],
    ]);
    expect(problems[0]!.message).toMatch(
      /replication factor 1, below its min.insync.replicas 2: no write can succeed; run `millrace reset a`/,
    );
    expect(problems[1]!.message).toMatch(/replication factor 2, below the 3 asked for/);
  });

  it('judges by the asked factor alone when min.insync.replicas could not be read', () => {
    expect(replicationProblems([health('t', 1)], 1, 'a')).toEqual([]);
    expect(replicationProblems([health('t', 1)], 3, 'a')[0]!.severity).toBe('warning');
  });
});
