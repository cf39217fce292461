import { describe, expect, it } from 'vitest';
import { createLogger } from './log.js';
import { TaskMigratedError } from './errors.js';

function capture(): { lines: Array<Record<string, any>>; sink: (line: string) => void } {
  const lines: Array<Record<string, any>> = [];
  return { lines, sink: (l) => lines.push(JSON.parse(l) as Record<string, any>) };
}

describe('logger', () => {
  it('writes the Kafka client error under ours (what the broker answered), not other causes', () => {
    const { lines, sink } = capture();
    const log = createLogger('warn', { app: 'a' }, sink);
    const kafka = Object.assign(new Error('The coordinator is not aware of this member'), {
      name: 'KafkaJSProtocolError',
      type: 'UNKNOWN_MEMBER_ID',
    });
    log.warn('fenced', { error: new TaskMigratedError('0_1', kafka) });
    log.warn('sink', {
      error: new Error('login failed', { cause: new Error('password=hunter2') }),
    });
    expect(lines[0]!.error.cause).toEqual({
      name: 'KafkaJSProtocolError',
      type: 'UNKNOWN_MEMBER_ID',
      message: 'The coordinator is not aware of this member',
    });
    expect(JSON.stringify(lines[1])).not.toContain('hunter2');
  });
});
