/**
 * A real `millrace run` instance (word count, two partitions) with no input yet: its
 * /metrics already holds each task's counters at 0, so the first record, commit, abort
 * or dead letter shows in rate() and increase() (a series that first appears at 1
 * hides that 1 from both).
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startObservedInstance, type ObservedInstance } from '../support/observed-instance.js';

let instance: ObservedInstance | undefined;

const sample = (text: string, series: string) =>
  text
    .split('\n')
    .find((l) => l.startsWith(series + ' '))
    ?.split(' ')[1];

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe('counters before the first record', () => {
  beforeAll(async () => {
    instance = await startObservedInstance(inject('kafkaBrokers'), { prefix: 'it-zero' });
  });

  afterAll(async () => {
    await instance?.stop();
  });

  it("exports each task's series at 0 as soon as the task exists", async () => {
    const { url, run } = instance!;
    await until('both tasks running', async () => {
      const status = (await (await fetch(`${url}/topology.json`)).json()) as {
        tasks: Array<{ state: string }>;
      };
      return status.tasks.length === 2 && status.tasks.every((t) => t.state === 'running');
    });
    const text = await (await fetch(`${url}/metrics`)).text();
    for (const task of ['0_0', '0_1']) {
      const labels = `app="${run}",task="${task}"`;
      expect(sample(text, `millrace_records_consumed_total{${labels}}`), task).toBe('0');
      expect(sample(text, `millrace_records_processed_total{${labels}}`), task).toBe('0');
      expect(sample(text, `millrace_commits_total{${labels},result="failed"}`), task).toBe('0');
      expect(sample(text, `millrace_transactions_aborted_total{${labels}}`), task).toBe('0');
      expect(sample(text, `millrace_restore_records_total{${labels},store="counts"}`)).toBe('0');
      for (const topic of [`${run}-counts-changelog`, `${run}-dlq`])
        expect(sample(text, `millrace_records_produced_total{${labels},topic="${topic}"}`)).toBe(
          '0',
        );
    }
    expect(
      sample(text, `millrace_dlq_records_total{app="${run}",reason="deserialization_error"}`),
    ).toBe('0');
  });
});
