import { describe, expect, it } from 'vitest';
import { loadDdl, splitStatements } from './ddl.js';
import { OFFSETS_TABLE, tradesTable, VWAP_1M_TABLE } from './tables.js';

describe('loadDdl', () => {
  it('fills the primary key and qualifies Snowflake tables', () => {
    const stmts = loadDdl(
      'snowflake.sql',
      { database: 'MARKETS', schema: 'PUBLIC', trades_primary_key: 'symbol, trade_timestamp' },
      't',
    );
    expect(stmts).toHaveLength(3);
    expect(stmts[0]).toMatch(/^CREATE TABLE IF NOT EXISTS MARKETS\.PUBLIC\.trades \(/);
    expect(stmts[0]).toMatch(/PRIMARY KEY \(symbol, trade_timestamp\)\n\)$/);
    expect(stmts.join('\n')).not.toMatch(/\$\{|--/);
  });

  it('names a placeholder that has no value', () => {
    expect(() => loadDdl('duckdb.sql', {}, 't')).toThrow(
      /duckdb\.sql uses \$\{trades_primary_key\}/,
    );
  });

  it('declares, in both files, the columns tables.ts describes, in the same order', () => {
    for (const file of ['duckdb.sql', 'snowflake.sql']) {
      const stmts = loadDdl(file, { database: 'D', schema: 'S', trades_primary_key: 'k' }, 't');
      for (const [i, table] of [tradesTable('content'), VWAP_1M_TABLE, OFFSETS_TABLE].entries()) {
        const lines = stmts[i]!.split('\n')
          .slice(1, -1)
          .map((l) => l.trim())
          .filter((l) => !l.startsWith('PRIMARY'));
        expect(
          lines.map((l) => l.split(/\s+/)[0]),
          `${file} ${table.name}`,
        ).toEqual(table.columns.map((c) => c.name));
        expect(
          lines.map((l) => !l.includes('NOT NULL')),
          `${file} ${table.name} nullability`,
        ).toEqual(table.columns.map((c) => c.nullable));
      }
    }
  });
});

describe('splitStatements', () => {
  it('drops comment lines and splits on line-ending semicolons', () => {
    expect(splitStatements('-- a;\nCREATE x (a);\n\n  -- b\nCREATE y;\n')).toEqual([
      'CREATE x (a)',
      'CREATE y',
    ]);
  });
});
