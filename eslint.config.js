import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', '.tools/**', '.data/**', 'artifacts/**', 'bench/results/**'] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      globals: { ...globals.node },
      parserOptions: {
        // Sources belong to their package's project, tests to its test/ project, root files to tsconfig.root.json.
        project: [
          'tsconfig.root.json',
          '*/tsconfig.json',
          'services/*/tsconfig.json',
          'services/backend/web/tsconfig.json',
          'tools/*/tsconfig.json',
          '*/test/tsconfig.json',
          'services/*/test/tsconfig.json',
          'tools/*/test/tsconfig.json',
        ],
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      // Fastify plugins and route handlers are async by convention, awaiting or not.
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    // Hot paths index flat typed arrays by slot and sequence numbers that are in range by
    // construction; `!` there says so without a branch per access. In tests a wrong `!` fails the test.
    files: ['services/socket/src/**/*.ts', '**/test/**/*.ts'],
    rules: { '@typescript-eslint/no-non-null-assertion': 'off' },
  },
  {
    files: ['services/backend/web/src/**/*.ts'],
    languageOptions: { globals: { ...globals.browser } },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
  },
);
