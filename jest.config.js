/**
 * One jest run = one real Temporal dev server (started in globalSetup, shared by every file).
 * Files run one at a time: the fault tests restart that server and kill workers.
 */
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'typescript' } } }] },
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  maxWorkers: 1,
  testTimeout: 120_000,
  // The Temporal native bridge keeps a handle open after tests (sdk-typescript#928).
  forceExit: true,
};
