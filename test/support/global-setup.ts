/**
 * jest globalSetup of the `integration` project: one real Temporal dev server per jest worker for the whole
 * run, each on a fresh SQLite file and free ports (see temporal-server.ts).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { devServerSpec, isProcessAlive, launchDevServer, stopProcess } from '../../src/dev/dev-server';
import { resolveTemporalCli } from '../../src/dev/temporal-cli';
import { freePorts } from './net';
import {
  INTEGRATION_WORKERS,
  log,
  PROJECT_ROOT,
  readTestRun,
  TEST_RUN_ENV,
  writeTestRun,
  type TestRun,
} from './temporal-server';

const DATA_DIR = path.join(PROJECT_ROOT, '.data');
/** Finished runs' folders kept for post-mortems (server log, SQLite file); older ones are deleted. */
const KEEP_RUNS = 3;

export default async function globalSetup(): Promise<void> {
  await cleanUpFinishedRuns();

  // One server per jest worker (jest.config.js): a fault test restarts only its own worker's server.
  const binary = await resolveTemporalCli({ log, projectRoot: PROJECT_ROOT });
  const runFiles: string[] = [];
  const addresses: string[] = [];
  const started = Date.now();
  for (let i = 1; i <= INTEGRATION_WORKERS; i++) {
    const [port, uiPort] = await freePorts(2);
    const runDir = path.join(DATA_DIR, `test-${started}-${i}`);
    const spec = devServerSpec({ binary, port, uiPort, dbFile: path.join(runDir, 'temporal.sqlite'), log });
    // Detached: the fault tests kill and restart it, possibly from a jest worker process.
    const server = await launchDevServer(spec, { log, detached: true });
    const runFile = path.join(runDir, 'test-run.json');
    await writeTestRun({ ...spec, pid: server.pid, port, uiPort, ownerPid: process.pid }, runFile);
    runFiles.push(runFile);
    addresses.push(server.address);
    log(`Web UI of server ${i}: ${server.uiUrl}; server log: ${path.relative(PROJECT_ROOT, server.logFile)}`);
  }
  // Test processes inherit these: workers start after globalSetup, and in-band tests share this process
  // (worker-env.ts points each worker's TEMPORAL_ADDRESS at its own server).
  process.env[TEST_RUN_ENV] = runFiles.join(path.delimiter);
  process.env.TEMPORAL_ADDRESS = addresses[0];

  // The workflow code is bundled once per server, on first use, next to its SQLite file (test/support/stack.ts).
}

/**
 * Stops servers that interrupted runs (Ctrl-C before teardown) left behind, and deletes all but the
 * newest finished runs' folders. Runs whose jest process is still alive, in this checkout, are left alone.
 */
async function cleanUpFinishedRuns(): Promise<void> {
  const names = (await fs.readdir(DATA_DIR).catch(() => [] as string[]))
    .filter((name) => /^test-\d+(-\d+)?$/.test(name))
    .sort();
  const finished: string[] = [];
  for (const name of names) {
    let run: TestRun;
    try {
      run = readTestRun(path.join(DATA_DIR, name, 'test-run.json'));
    } catch {
      continue; // a run still starting, or one whose setup failed: not known to be finished
    }
    if (isProcessAlive(run.ownerPid)) continue;
    // Only if the pid is still that server (Linux /proc; elsewhere a leftover is left running).
    const cmdline = await fs.readFile(`/proc/${run.pid}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.includes('start-dev') && cmdline.includes(run.dbFile)) {
      log(`Stopping the server an interrupted run left behind (pid ${run.pid}, ${name})`);
      await stopProcess(run.pid);
    }
    finished.push(name);
  }
  for (const name of finished.slice(0, Math.max(0, finished.length - KEEP_RUNS))) {
    await fs.rm(path.join(DATA_DIR, name), { recursive: true, force: true });
  }
}
