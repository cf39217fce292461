// Lint rules. The import directions between millrace's parts (docs/architecture.md) are the
// table in lint/layers.js, enforced by its rule `millrace/layers`.
import tseslint from 'typescript-eslint';
import { layersPlugin } from './lint/layers.js';

const longest = (max) => ({ max, skipBlankLines: true, skipComments: true, IIFEs: true });

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
    plugins: { millrace: layersPlugin },
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      'millrace/layers': 'error',
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
    // CommonJS files (a user's project requiring the package, in the install test) load
    // modules with require() by definition.
    files: ['**/*.cjs'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // Functions stay short: at most 60 lines (blank lines and comments aside) in production
    // code; tests, benchmarks and the harness they share are not held to it.
    files: ['**/*.ts', '**/*.js', '**/*.mjs'],
    ignores: ['**/*.test.ts', '**/*.d.ts', 'test/**', 'bench/**', 'harness/**'],
    rules: { 'max-lines-per-function': ['error', longest(60)] },
  },
);
