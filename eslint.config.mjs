import eslint from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  // Plain CommonJS run before anything is compiled; not part of the TypeScript project.
  { ignores: ['dist/', 'coverage/', 'node_modules/', 'jest.config.js', 'tests/support/*.js', 'bin/*.js', 'scripts/ensure-built.js'] },
  eslint.configs.recommended,
  tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: { allowDefaultProject: ['eslint.config.mjs', 'scripts/bundle-cli.mjs', 'tests/support/validate-openapi.mjs'] }, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      // Ports are async so a networked store can implement them; the SQLite adapter is sync inside.
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
    },
  },
  // The dependency rule: the domain knows nothing of frameworks, storage or the other layers.
  {
    files: ['src/domain/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['../*', 'express', 'zod', 'tsyringe', 'better-sqlite3', 'reflect-metadata', 'node:*'], message: 'domain/ imports nothing outside itself.' },
          ],
        },
      ],
    },
  },
  {
    files: ['src/application/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['**/infrastructure/*', '**/interfaces/*', 'express', 'zod', 'better-sqlite3'], message: 'application/ holds no HTTP or SQL types.' },
          ],
        },
      ],
    },
  },
  {
    // Unit tests stay fast and self-contained: no container, HTTP stack, database or process.
    files: ['tests/unit/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/container', '**/test-app', '**/server-process', '**/postgres-server', '**/infrastructure/sqlite/*', '**/infrastructure/postgres/*', 'express', 'supertest', 'better-sqlite3', 'pg', 'node:child_process'],
              message: 'tests/unit/ imports no container, Express, database or process: put such a test in tests/integration/.',
            },
          ],
        },
      ],
    },
  },
  {
    // HTTP response bodies are `any` by nature; the assertions are what type-check them.
    files: ['tests/**/*.ts', 'tests/**/*.mjs'],
    rules: {
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
);
