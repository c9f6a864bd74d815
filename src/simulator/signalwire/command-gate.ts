import type { SignalWireCommandLogEntry, SignalWireFaultOptions } from './types';

/**
 * What stands between a Calling API request and its execution: injected faults, and the log of every
 * request received. (Duplicate control_ids are the engine's business: only it knows what is still active.)
 */

type CommandFault = NonNullable<SignalWireFaultOptions['failFirstCommandAttempts']>;

export class CommandGate {
  private readonly attemptsByCommand = new Map<string, number>();
  private readonly entries: SignalWireCommandLogEntry[] = [];

  constructor(private readonly fault?: CommandFault) {}

  /** The error to answer instead of running the command, while it is among its first `count` attempts. */
  injectedFault(commandKey: string): CommandFault | undefined {
    if (!this.fault) return undefined;
    const attempts = this.attemptsByCommand.get(commandKey) ?? 0;
    if (attempts >= this.fault.count) return undefined;
    this.attemptsByCommand.set(commandKey, attempts + 1);
    return this.fault;
  }

  record(entry: SignalWireCommandLogEntry): void {
    this.entries.push(entry);
  }

  log(): SignalWireCommandLogEntry[] {
    return this.entries.map((entry) => ({ ...entry }));
  }
}
