/**
 * What the three simulators share when they run as their own process: reading the environment, the one JSON
 * "ready" line on stdout, logs on stderr, and closing on SIGTERM/SIGINT.
 */

/** A JSON environment variable, parsed; undefined when unset or empty. */
export function jsonEnv<T>(name: string): T | undefined {
  const raw = process.env[name];
  if (!raw) return undefined;
  try {
    return JSON.parse(raw) as T;
  } catch (err) {
    throw new Error(`${name} is not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** A non-negative number from the environment, or `fallback` when unset or empty. */
export function numberEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (!raw) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) throw new Error(`${name} must be a non-negative number, got ${raw}`);
  return value;
}

export interface SimulatorProcess<S extends { close(): Promise<void> }> {
  /** The log prefix, e.g. `telnyx-sim`. */
  name: string;
  start: (log: (line: string) => void) => Promise<S>;
  /** The fields of the ready line, in order, once the simulator listens. */
  ready: (simulator: S) => Record<string, unknown>;
}

/** Starts the simulator, prints its ready line and closes it on SIGTERM/SIGINT; a failed start exits 1. */
export function runSimulatorProcess<S extends { close(): Promise<void> }>({
  name,
  start,
  ready,
}: SimulatorProcess<S>): void {
  const log = (line: string) => process.stderr.write(`[${name}] ${line}\n`);
  const main = async () => {
    const simulator = await start(log);
    process.stdout.write(`${JSON.stringify(ready(simulator))}\n`);
    let closing = false;
    const shutdown = (signal: string) => {
      if (closing) return;
      closing = true;
      log(`${signal}: closing`);
      simulator.close().then(
        () => process.exit(0),
        (err: unknown) => {
          log(`close failed: ${String(err)}`);
          process.exit(1);
        },
      );
    };
    process.on('SIGTERM', () => shutdown('SIGTERM'));
    process.on('SIGINT', () => shutdown('SIGINT'));
  };
  main().catch((err: unknown) => {
    process.stderr.write(`[${name}] failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
