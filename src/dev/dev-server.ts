import { spawn } from 'node:child_process';
import { closeSync, promises as fs, openSync, fstatSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Connection } from '@temporalio/client';
import { CALL_SEARCH_ATTRIBUTES } from '../calls/search-attributes';
import { resolveTemporalCli } from './temporal-cli';

/**
 * Server settings the call sessions rely on: eager activities and eager workflow start cut a round trip
 * off every reaction; update-with-start (multi-operation) and updates serve the document carriers.
 */
export const DEV_SERVER_DYNAMIC_CONFIG: Readonly<Record<string, boolean>> = {
  'system.enableActivityEagerExecution': true,
  'frontend.enableExecuteMultiOperation': true,
  'system.enableEagerWorkflowStart': true,
  'frontend.enableUpdateWorkflowExecution': true,
  'frontend.enableUpdateWorkflowExecutionAsyncAccepted': true,
};

const READY_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 10_000;

export interface DevServerOptions {
  /** Frontend (gRPC) port (`config.temporal.port`). Default 7233. */
  port?: number;
  /** Web UI port (`config.temporal.uiPort`); 0 or 'headless' runs without UI. Default 8233. */
  uiPort?: number | 'headless';
  /** SQLite file that holds the server's state across restarts (its folder is created). */
  dbFile: string;
  /** Namespace to create besides `default`. */
  namespace?: string;
  log: (line: string) => void;
  /**
   * Run the server in its own process group, not tied to this process: it survives this process
   * exiting and can be stopped from another process by pid.
   */
  detached?: boolean;
  /** A Temporal CLI binary; found or installed with `resolveTemporalCli` when absent. */
  binary?: string;
  /** Where `.tools/` lives for `resolveTemporalCli`. Default: the current directory. */
  projectRoot?: string;
}

/** Everything needed to start the same server again, possibly from another process. */
export interface DevServerSpec {
  binary: string;
  args: string[];
  /** Frontend address, e.g. '127.0.0.1:7233'. */
  address: string;
  namespace: string;
  uiUrl?: string;
  dbFile: string;
  /** Server stdout and stderr, appended across restarts. */
  logFile: string;
}

export interface DevServer extends DevServerSpec {
  pid: number;
  /** Resolves when the process exits, however it ends. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM, then SIGKILL if it has not exited after ~10 s. */
  stop(): Promise<void>;
}

/** Builds the `temporal server start-dev` command line for these options. */
export function devServerSpec(opts: DevServerOptions & { binary: string }): DevServerSpec {
  // Callers pass the configured ports (`config.temporal`); these are the CLI's own defaults.
  const port = opts.port ?? 7233;
  const uiPort = opts.uiPort ?? 8233;
  const namespace = opts.namespace ?? 'default';
  const dbFile = path.resolve(opts.dbFile);
  const headless = uiPort === 'headless' || uiPort === 0;
  const args = [
    'server',
    'start-dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(port),
    ...(headless ? ['--headless'] : ['--ui-port', String(uiPort)]),
    '--db-filename',
    dbFile,
    '--namespace',
    'default',
    ...(namespace === 'default' ? [] : ['--namespace', namespace]),
    '--log-level',
    'warn',
    // WAL keeps readers and the writer from blocking each other; NORMAL (not OFF, as the SDK's CI uses)
    // still survives a killed server process, which the fault tests do on purpose.
    '--sqlite-pragma',
    'journal_mode=WAL',
    '--sqlite-pragma',
    'synchronous=NORMAL',
    ...CALL_SEARCH_ATTRIBUTES.flatMap(({ name, type }) => ['--search-attribute', `${name}=${type}`]),
    ...Object.entries(DEV_SERVER_DYNAMIC_CONFIG).flatMap(([key, value]) => [
      '--dynamic-config-value',
      `${key}=${JSON.stringify(value)}`,
    ]),
  ];
  return {
    binary: opts.binary,
    args,
    address: `127.0.0.1:${port}`,
    namespace,
    uiUrl: headless ? undefined : `http://127.0.0.1:${uiPort}`,
    dbFile,
    logFile: `${dbFile}.log`,
  };
}

/** Finds (or installs) the CLI and starts a dev server; resolves once the frontend serves the namespace. */
export async function startDevServer(opts: DevServerOptions): Promise<DevServer> {
  const binary = opts.binary ?? (await resolveTemporalCli({ log: opts.log, projectRoot: opts.projectRoot }));
  return launchDevServer(devServerSpec({ ...opts, binary }), opts);
}

/** Starts the server a spec describes (again, after a stop or a crash, on the same SQLite file). */
export async function launchDevServer(
  spec: DevServerSpec,
  opts: { log: (line: string) => void; detached?: boolean },
): Promise<DevServer> {
  await assertPortFree(spec.address, 'Temporal frontend');
  if (spec.uiUrl) await assertPortFree(new URL(spec.uiUrl).host, 'Temporal Web UI');
  await fs.mkdir(path.dirname(spec.dbFile), { recursive: true });

  // Output goes to a file, not a pipe: a detached server must keep writing after this process is gone.
  const out = openSync(spec.logFile, 'a');
  const logOffset = fstatSync(out).size;
  const started = Date.now();
  const child = spawn(spec.binary, spec.args, { detached: opts.detached ?? false, stdio: ['ignore', out, out] });
  closeSync(out);
  if (opts.detached) child.unref();

  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    child.once('error', (error) => resolve({ code: null, signal: null, error }));
  });
  const stopPolling = new AbortController();
  const outcome = await Promise.race([waitUntilServing(spec, stopPolling.signal), exited]);
  stopPolling.abort();
  if (outcome !== 'serving') {
    if (outcome !== 'timeout') {
      const how =
        outcome.error?.message ??
        (outcome.signal ? `was killed by ${outcome.signal}` : `exited with code ${outcome.code}`);
      throw new Error(
        `Temporal dev server ${how} before it served ${spec.address}.\n${await logTail(spec.logFile, logOffset)}`,
      );
    }
    child.kill('SIGKILL');
    throw new Error(
      `Temporal dev server did not serve ${spec.address} within ${READY_TIMEOUT_MS / 1000} s.\n${await logTail(spec.logFile, logOffset)}`,
    );
  }
  const pid = child.pid!;
  opts.log(`Temporal dev server ready on ${spec.address} (pid ${pid}, ${Date.now() - started} ms)`);
  return { ...spec, pid, exited, stop: () => stopProcess(pid) };
}

/**
 * Stops a server (SIGKILL simulates a crash), waits `downMs`, and starts it again on the same SQLite
 * file and ports. Needs only the spec and pid, so another process than the one that started it can do it.
 */
export async function restartDevServer(
  server: DevServerSpec & { pid: number },
  opts: { log: (line: string) => void; detached?: boolean; signal?: 'SIGTERM' | 'SIGKILL'; downMs?: number },
): Promise<DevServer> {
  await stopProcess(server.pid, opts.signal ?? 'SIGTERM');
  if (opts.downMs) await sleep(opts.downMs);
  return launchDevServer(server, opts);
}

/**
 * Sends `signal` to `pid` and waits until the process is gone, escalating to SIGKILL after ~10 s.
 * Works for a process started by another process (by pid only).
 */
export async function stopProcess(pid: number, signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> {
  if (!sendSignal(pid, signal)) return;
  if (await waitForExit(pid, STOP_GRACE_MS)) return;
  sendSignal(pid, 'SIGKILL');
  if (!(await waitForExit(pid, STOP_GRACE_MS))) throw new Error(`process ${pid} did not exit after SIGKILL`);
}

/** Link to a workflow in the Temporal Web UI. */
export function temporalUiWorkflowUrl(uiUrl: string, namespace: string, workflowId: string): string {
  return `${uiUrl}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}

/** Polls until the frontend answers for the namespace, so callers never race the server's boot. */
async function waitUntilServing(spec: DevServerSpec, aborted: AbortSignal): Promise<'serving' | 'timeout'> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline && !aborted.aborted) {
    // A fresh connection per attempt: `ensureConnected` remembers its first failure.
    const connection = Connection.lazy({ address: spec.address, connectTimeout: 1_000 });
    try {
      await connection.ensureConnected(); // calls GetSystemInfo
      await connection.withDeadline(Date.now() + 2_000, () =>
        connection.workflowService.describeNamespace({ namespace: spec.namespace }),
      );
      return 'serving';
    } catch {
      await sleep(100);
    } finally {
      await connection.close();
    }
  }
  return 'timeout';
}

async function assertPortFree(hostPort: string, what: string): Promise<void> {
  const { hostname, port } = new URL(`tcp://${hostPort}`);
  await new Promise<void>((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'EADDRINUSE'
          ? new Error(
              `${what} port ${port} on ${hostname} is already in use (another Temporal server?). Stop it, pick other ` +
                'ports with TEMPORAL_PORT / TEMPORAL_UI_PORT, or set TEMPORAL_ADDRESS to use a running server.',
            )
          : err,
      ),
    );
    probe.listen(Number(port), hostname, () => probe.close(() => resolve()));
  });
}

export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/** process.kill that reports whether the process was there. */
function sendSignal(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(pid, signal);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw err;
  }
}

async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isProcessAlive(pid)) return true;
    await sleep(50);
  }
  return false;
}

async function logTail(logFile: string, fromOffset: number): Promise<string> {
  const bytes = await fs.readFile(logFile).catch(() => Buffer.alloc(0));
  const tail = bytes.subarray(fromOffset).toString('utf8').trim().split('\n').slice(-20).join('\n');
  return tail ? `Server output (${logFile}):\n${tail}` : `The server wrote nothing to ${logFile}.`;
}
