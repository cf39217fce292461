import { expect, it } from 'vitest';
import { sumSamples } from './metrics.js';

it('sums the samples of one metric, filtered by a label text, and not of longer names', () => {
  const text = [
    '# HELP millrace_sink_rows_written_total Rows written',
    'millrace_sink_rows_written_total{sink="s",table="trades"} 10',
    'millrace_sink_rows_written_total{sink="s",table="vwap_1m"} 3',
    'millrace_sink_rows_written_total_extra{table="trades"} 100',
    'millrace_up 1',
  ].join('\n');
  expect(sumSamples(text, 'millrace_sink_rows_written_total')).toBe(13);
  expect(sumSamples(text, 'millrace_sink_rows_written_total', 'table="trades"')).toBe(10);
  expect(sumSamples(text, 'millrace_up')).toBe(1);
});
