// Lint rules, including the one-way import directions of docs/architecture.md (Import rules):
// topology/ and state/ know no Kafka; the Kafka client lives only in connectors/kafka and runtime/;
// the LevelDB binding only in state/.
import tseslint from 'typescript-eslint';

const kafka = {
  group: ['kafkajs', 'kafkajs/*'],
  message: 'kafkajs is used only under connectors/kafka/ and runtime/.',
};
const level = {
  group: ['level', 'classic-level'],
  message: 'The LevelDB binding is used only under state/.',
};
const ours = (folders) => folders.map((f) => `**/${f}/**`);

export default tseslint.config(
  {
    ignores: [
      'node_modules/**',
      '.cache/**',
      '.run/**',
      'dist/**',
      'bench/results/**',
      'test-artifacts/**',
    ],
  },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      'no-restricted-imports': ['error', { patterns: [kafka, level] }],
    },
  },
  {
    // The public API (issue 18): no `any` in what users import or implement.
    files: [
      'index.ts',
      'testing.ts',
      'topology/**/*.ts',
      'processors/**/*.ts',
      'state/**/*.ts',
      'runtime/testing/**/*.ts',
      'runtime/task/**/*.ts',
      'runtime/topology-adapter.ts',
      'runtime/global-*.ts',
    ],
    ignores: ['**/*.test.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'error' },
  },
  {
    files: ['topology/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            kafka,
            level,
            {
              group: ours([
                'state',
                'processors',
                'runtime',
                'connectors',
                'apps',
                'cli',
                'observability',
              ]),
              message: 'topology/ imports nothing else of ours.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['state/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            kafka,
            {
              group: ours([
                'topology',
                'processors',
                'runtime',
                'connectors',
                'apps',
                'cli',
                'observability',
              ]),
              message: 'state/ imports nothing else of ours.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['processors/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            kafka,
            level,
            {
              group: ours(['runtime', 'connectors', 'apps', 'cli', 'observability']),
              message: 'processors/ may import topology/ and state/ interfaces only.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['connectors/kafka/**/*.ts', 'runtime/**/*.ts', 'test/**/*.ts', 'bench/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [level] }] },
  },
);
