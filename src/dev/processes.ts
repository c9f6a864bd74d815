import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { PROVIDERS } from '../calls/ids';
import { SIMULATORS, type SimulatorPart } from './simulators';

/**
 * Runs the service's parts (worker, gateway, simulator) as child processes, each alone so it can be
 * killed, restarted and scaled on its own, and waits for the JSON "ready" line each prints.
 */

const ROOT = path.resolve(__dirname, '..', '..');
const COMPILED = __filename.endsWith('.js');

const SIMULATOR_ENTRY = Object.fromEntries(
  PROVIDERS.map((carrier) => [SIMULATORS[carrier].part, SIMULATORS[carrier].entry]),
) as Record<SimulatorPart, string>;

/** Entry points of the parts, as source (ts-node) or compiled (`dist/`); one simulator part per carrier. */
export const PART_ENTRY = {
  worker: 'worker/main',
  gateway: 'src/gateway/main',
  ...SIMULATOR_ENTRY,
};
export type PartName = keyof typeof PART_ENTRY;

function entryOf(part: PartName): string {
  return path.join(ROOT, COMPILED ? `${PART_ENTRY[part]}.js` : `${PART_ENTRY[part]}.ts`);
}

/** Whether this checkout has the part (a simulator can be absent from a slimmed-down build). */
export function partAvailable(part: PartName): boolean {
  return existsSync(entryOf(part));
}

export interface ManagedProcess {
  readonly name: string;
  readonly child: ChildProcess;
  /** The parsed ready line. */
  readonly ready: Record<string, unknown>;
  /** Resolves with the exit code (or signal) once the process has exited. */
  readonly exited: Promise<number | string>;
  /** SIGTERM, then SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL: what a crash or an OOM kill looks like. */
  kill(): Promise<void>;
}

export interface StartPartOptions {
  env: NodeJS.ProcessEnv;
  /** Where the part's output lines go (prefixed with its name). */
  log?: (line: string) => void;
  readyTimeoutMs?: number;
  /** A distinguishing label, e.g. `worker-2`. */
  label?: string;
}

export function startPart(part: PartName, options: StartPartOptions): Promise<ManagedProcess> {
  const entry = entryOf(part);
  const args = COMPILED ? [entry] : ['-r', require.resolve('ts-node/register/transpile-only'), entry];
  const name = options.label ?? part;
  const log = options.log ?? ((line: string) => console.log(line));
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...options.env, TS_NODE_TRANSPILE_ONLY: 'true' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')),
  );

  return new Promise((resolve, reject) => {
    let ready = false;
    const timer = setTimeout(() => {
      if (!ready) {
        child.kill('SIGKILL');
        reject(new Error(`${name} did not report ready within ${options.readyTimeoutMs ?? 60_000} ms`));
      }
    }, options.readyTimeoutMs ?? 60_000);
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (!ready && line.startsWith('{') && line.includes('-ready"')) {
        try {
          const parsed = JSON.parse(line) as Record<string, unknown>;
          ready = true;
          clearTimeout(timer);
          resolve(managed(name, child, parsed, exited));
          return;
        } catch {
          // not our ready line
        }
      }
      log(`[${name}] ${line}`);
    });
    createInterface({ input: child.stderr }).on('line', (line) => log(`[${name}] ${line}`));
    void exited.then((code) => {
      if (!ready) {
        clearTimeout(timer);
        reject(new Error(`${name} exited (${code}) before it was ready`));
      }
    });
  });
}

function managed(
  name: string,
  child: ChildProcess,
  ready: Record<string, unknown>,
  exited: Promise<number | string>,
): ManagedProcess {
  const alive = () => child.exitCode === null && child.signalCode === null;
  return {
    name,
    child,
    ready,
    exited,
    async stop(graceMs = 15_000) {
      if (!alive()) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => alive() && child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
    async kill() {
      if (!alive()) return;
      child.kill('SIGKILL');
      await exited;
    },
  };
}
