/**
 * The reasons the built-in processors dead-letter a record for (the `reason` label of
 * `millrace_dlq_records_total`), so the metric can start at 0 for each. `require-field`'s
 * `missing_field_<field>` depends on its options and a user's processor picks its own, so
 * neither is listed.
 */
import { VALIDATION_RULES } from './market/validate.js';

export const BUILTIN_DEAD_LETTER_REASONS: readonly string[] = [
  'late',
  'not_a_trade_message',
  'key_not_symbol',
  ...VALIDATION_RULES,
];
