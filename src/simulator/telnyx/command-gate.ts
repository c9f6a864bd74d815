import type { CommandLogEntry, FaultOptions } from './types';

/**
 * What stands between a REST request and its execution: injected faults, Telnyx's `command_id`
 * de-duplication and the log of every command received.
 */

/** Telnyx ignores a repeated command_id for the same call within 60 seconds. */
const DEDUPE_WINDOW_MS = 60_000;

type CommandFault = NonNullable<FaultOptions['failFirstCommandAttempts']>;

export class CommandGate {
  private readonly attemptsByCommand = new Map<string, number>();
  private readonly acceptedByCommand = new Map<string, { at: number; response: unknown }>();
  private readonly entries: CommandLogEntry[] = [];

  constructor(private readonly fault?: CommandFault) {}

  /** The error to answer instead of running the command, while it is among its first `count` attempts. */
  injectedFault(commandKey: string): CommandFault | undefined {
    if (!this.fault) return undefined;
    const attempts = this.attemptsByCommand.get(commandKey) ?? 0;
    if (attempts >= this.fault.count) return undefined;
    this.attemptsByCommand.set(commandKey, attempts + 1);
    return this.fault;
  }

  /** The response of an earlier accepted command with this key, if inside the de-duplication window. */
  acceptedBefore(dedupeKey: string, now = Date.now()): { response: unknown } | undefined {
    const accepted = this.acceptedByCommand.get(dedupeKey);
    return accepted && now - accepted.at < DEDUPE_WINDOW_MS ? accepted : undefined;
  }

  accept(dedupeKey: string, response: unknown, now = Date.now()): void {
    this.acceptedByCommand.set(dedupeKey, { at: now, response });
  }

  record(entry: CommandLogEntry): void {
    this.entries.push(entry);
  }

  log(): CommandLogEntry[] {
    return this.entries.map((entry) => ({ ...entry }));
  }

  /** Forgets command ids older than the window. */
  sweep(now = Date.now()): void {
    for (const [key, accepted] of this.acceptedByCommand) {
      if (now - accepted.at >= DEDUPE_WINDOW_MS) this.acceptedByCommand.delete(key);
    }
  }
}
