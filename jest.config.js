// Two projects: `npx jest tests/unit` runs the unit project alone, in seconds, without the
// integration project's global setup (a build and a PostgreSQL cluster). Jest runs a
// project's globalSetup only when at least one of its tests is selected.
const shared = {
  testEnvironment: 'node',
  setupFiles: ['reflect-metadata'],
  // Lazy imports name the compiled file (./x.js), as Node's import() needs; tests run the .ts.
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: {
    // swc is fast and, unlike esbuild, emits the decorator metadata tsyringe injects by.
    '^.+\\.ts$': [
      '@swc/jest',
      {
        jsc: {
          parser: { syntax: 'typescript', decorators: true },
          transform: { legacyDecorator: true, decoratorMetadata: true },
          target: 'es2022',
        },
        module: { type: 'commonjs' },
      },
    ],
  },
};

/** @type {import('jest').Config} */
module.exports = {
  reporters: ['default', '<rootDir>/tests/support/summary-line.reporter.js'],
  projects: [
    { ...shared, displayName: 'unit', roots: ['<rootDir>/tests/unit'] },
    {
      ...shared,
      displayName: 'integration',
      roots: ['<rootDir>/tests/integration'],
      globalSetup: '<rootDir>/tests/support/global-setup.js',
      globalTeardown: '<rootDir>/tests/support/global-teardown.js',
    },
  ],
};
