/**
 * Two projects: `unit` (pure code, no server) and `integration` (real Temporal dev servers started in
 * globalSetup, one per jest worker, so a fault test that restarts its server or kills workers disturbs only
 * its own stack). INTEGRATION_WORKERS (2) files at a time; 1 runs them one after the other.
 */
const workers = Math.max(1, Number(process.env.INTEGRATION_WORKERS ?? 2));
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
      setupFiles: ['<rootDir>/test/support/worker-env.ts'],
      setupFilesAfterEnv: ['<rootDir>/test/support/clean-server.ts'],
    },
  ],
  maxWorkers: workers,
  testTimeout: 180_000,
  // The Temporal native bridge keeps a handle open after tests (sdk-typescript#928).
  forceExit: true,
};
