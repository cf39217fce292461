/**
 * Two versions of one Avro record, the evolution the registry tests use: v2 adds a field
 * with a default, so a v2 reader decodes v1 records (b = 7) and the registry accepts v2 as
 * backward compatible.
 */
export const v1 = { type: 'record', name: 'E', fields: [{ name: 'a', type: 'string' }] };
export const v2 = {
  type: 'record',
  name: 'E',
  fields: [
    { name: 'a', type: 'string' },
    { name: 'b', type: 'long', default: 7 },
  ],
};
