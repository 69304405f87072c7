// Lint rules: typescript-eslint's recommended set, with `any` forbidden in the library.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'scratch/**', 'spec/fixtures/broken/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  {
    files: ['**/*.cjs'],
    languageOptions: {
      sourceType: 'commonjs',
      globals: { require: 'readonly', module: 'writable', process: 'readonly', console: 'readonly' },
    },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', setTimeout: 'readonly' } },
  },
  {
    // The dashboard's page: browser modules served as they are.
    files: ['src/dashboard/static/**/*.js'],
    languageOptions: {
      globals: {
        document: 'readonly', location: 'readonly', fetch: 'readonly', sessionStorage: 'readonly',
        addEventListener: 'readonly', removeEventListener: 'readonly', setInterval: 'readonly', clearInterval: 'readonly',
      },
    },
  },
);
