import eslint from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * The dependency rule for interfaces/: it drives the use cases and reaches storage, CSV files
 * and the like only through their ports (src/application/ports), which a composition root
 * wires. The composition roots, which may import adapters, are
 *   src/container.ts and src/main.ts     the server,
 *   src/interfaces/cli/*.cli.ts          each CLI wires its one use case by hand (startup cost),
 *   src/weights-storage.ts               the one place the storage adapter is chosen.
 * The adapters interfaces/ may import directly, each for a reason:
 *   infrastructure/metrics/service-metrics  the Prometheus registry that /metrics serves and the
 *                                           HTTP edge counts requests into: observability of the
 *                                           edge itself, not a store, with nothing to swap;
 *   infrastructure/logging/pino-logger      the request log (observability.middleware.ts) writes
 *                                           its line per request with pino itself: the hot path,
 *                                           written by hand for speed.
 */
const ALLOWED_ADAPTERS = ['metrics/service-metrics', 'logging/pino-logger'];
const ADAPTER_PORTS_ONLY = {
  regex: String.raw`(^|/)infrastructure/(?!(${ALLOWED_ADAPTERS.join('|')})(\.js)?$)`,
  message: 'interfaces/ reaches adapters only through ports (src/application/ports); a composition root wires them (see eslint.config.mjs).',
};
const ADAPTER_LIBRARIES = {
  group: ['better-sqlite3', 'pg', 'pg-*', 'csv-parse', 'csv-parse/*', 'papaparse', 'udsv', 'prom-client', 'fs', 'fs/*', 'node:fs', 'node:fs/*'],
  message: 'Storage, files and metrics libraries belong to src/infrastructure; interfaces/ uses them through ports.',
};
const COMPOSITION_ROOTS = {
  group: ['**/container', '**/weights-storage', '**/main'],
  message: 'A composition root wires interfaces/, not the other way round; take what you need from the container.',
};

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
    files: ['src/interfaces/**/*.ts'],
    // The composition roots (see ADAPTER_PORTS_ONLY above).
    ignores: ['src/interfaces/cli/*.cli.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [ADAPTER_PORTS_ONLY, ADAPTER_LIBRARIES, COMPOSITION_ROOTS] }],
      'no-restricted-syntax': ['error', { selector: 'ImportExpression', message: 'No import() in interfaces/: it would slip past the layer rule above.' }],
    },
  },
  {
    // The CLIs' runner reports WeightsStorageOpenError, which the roots' openWeightsStorage throws.
    files: ['src/interfaces/cli/run-cli.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [ADAPTER_PORTS_ONLY, ADAPTER_LIBRARIES] }] },
  },
  {
    // The storage adapter is chosen in one place, weights-storage.ts; the other roots ask it.
    files: ['src/*.ts', 'src/interfaces/cli/*.cli.ts'],
    ignores: ['src/weights-storage.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['**/infrastructure/sqlite/*', '**/infrastructure/postgres/*', 'better-sqlite3', 'pg'], message: 'Open storage with openWeightsStorage (src/weights-storage.ts), where the adapter is chosen.' },
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
