/**
 * Two projects: `unit` (pure code, no server) and `integration` (one real Temporal dev server for the
 * whole run, started in globalSetup). Integration files run one at a time because the fault tests
 * restart that server and kill workers.
 */
const transform = {
  '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'typescript' } } }],
  // typebox 1.x (the REST API's schemas) ships ES modules only: compiled to CommonJS like our own code.
  '^.+\\.mjs$': ['@swc/jest', { jsc: { target: 'es2022' } }],
};
const transformIgnorePatterns = ['/node_modules/(?!typebox/)'];

/** @type {import('jest').Config} */
module.exports = {
  projects: [
    {
      displayName: 'unit',
      testEnvironment: 'node',
      roots: ['<rootDir>/test/unit'],
      testMatch: ['**/*.test.ts'],
      transform,
      transformIgnorePatterns,
    },
    {
      displayName: 'integration',
      testEnvironment: 'node',
      roots: ['<rootDir>/test/integration'],
      testMatch: ['**/*.test.ts'],
      transform,
      transformIgnorePatterns,
      globalSetup: '<rootDir>/test/support/global-setup.ts',
      globalTeardown: '<rootDir>/test/support/global-teardown.ts',
    },
  ],
  maxWorkers: 1,
  testTimeout: 180_000,
  // The Temporal native bridge keeps a handle open after tests (sdk-typescript#928).
  forceExit: true,
};
