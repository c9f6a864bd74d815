/**
 * The Temporal dev servers of an integration test run, one per jest worker: started by global-setup.ts and
 * recorded in the run's folders (.data/test-<timestamp>-<worker>/test-run.json), so any process of the run (the
 * jest parent or a worker) can find, restart or stop its own, and runs in the same checkout never touch each
 * other's.
 */
import { promises as fs, readFileSync } from 'node:fs';
import path from 'node:path';
import { restartDevServer, type DevServerSpec } from '../../src/dev/dev-server';

export const PROJECT_ROOT = path.resolve(__dirname, '..', '..');
/** Set by global-setup for the test processes: the path of this run's record. */
export const TEST_RUN_ENV = 'DURABLE_CALLS_TEST_RUN';

export interface TestRun extends DevServerSpec {
  pid: number;
  port: number;
  uiPort: number;
  /** The jest process whose run this is; once it is gone, the next run may clean up after it. */
  ownerPid: number;
}

export const log = (line: string): void => console.log(`[temporal] ${line}`);

/**
 * Integration test files run this many at a time (jest workers), each worker on its own server. Most tests
 * wait on simulated callers, not the CPU, so two share a 2-core machine well. INTEGRATION_WORKERS=1: one at a time.
 */
export const INTEGRATION_WORKERS = Math.max(1, Number(process.env.INTEGRATION_WORKERS ?? 2));

/** Every server's record, in worker order. */
export function testRunFiles(): string[] {
  const files = process.env[TEST_RUN_ENV];
  if (!files)
    throw new Error(
      `${TEST_RUN_ENV} is not set: integration tests need the server that test/support/global-setup.ts starts.`,
    );
  return files.split(path.delimiter);
}

/** This jest worker's server (JEST_WORKER_ID counts from 1; in band it is 1). */
function testRunFile(): string {
  const files = testRunFiles();
  return files[(Number(process.env.JEST_WORKER_ID ?? 1) - 1) % files.length];
}

export function readTestRun(file = testRunFile()): TestRun {
  return JSON.parse(readFileSync(file, 'utf8')) as TestRun;
}

export function testServerAddress(): string {
  return readTestRun().address;
}

/** Written to a temporary file and renamed, so a reader never sees half a record. */
export async function writeTestRun(run: TestRun, file = testRunFile()): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await fs.writeFile(tmp, `${JSON.stringify(run, null, 2)}\n`);
  await fs.rename(tmp, file);
}

/**
 * Kills the test server (SIGKILL by default: a crash), keeps it down for `downMs`, then starts it again
 * with the same command line, SQLite file and ports, and waits until it serves.
 */
export async function restartTestServer(
  opts: { downMs?: number; signal?: 'SIGKILL' | 'SIGTERM' } = {},
): Promise<TestRun> {
  const run = readTestRun();
  // Detached, so the server outlives this process if it is a jest worker; teardown stops it by pid.
  const server = await restartDevServer(run, {
    log,
    detached: true,
    signal: opts.signal ?? 'SIGKILL',
    downMs: opts.downMs,
  });
  const restarted = { ...run, pid: server.pid };
  await writeTestRun(restarted);
  return restarted;
}
