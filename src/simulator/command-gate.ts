/**
 * What stands between a carrier REST request and its execution in every simulator: the injected
 * `failFirstCommandAttempts` fault, and the log of every request with the status it was answered with.
 */

export interface CommandFault {
  /** How many attempts of each request get the fault before it runs. */
  count: number;
}

export class CommandGate<Entry extends object, Fault extends CommandFault = CommandFault> {
  private readonly attemptsByCommand = new Map<string, number>();
  private readonly entries: Entry[] = [];

  constructor(private readonly fault?: Fault) {}

  /** The error to answer instead of running the command, while it is among its first `count` attempts. */
  injectedFault(commandKey: string): Fault | undefined {
    if (!this.fault) return undefined;
    const attempts = this.attemptsByCommand.get(commandKey) ?? 0;
    if (attempts >= this.fault.count) return undefined;
    this.attemptsByCommand.set(commandKey, attempts + 1);
    return this.fault;
  }

  /** How many attempts of the command were counted for the fault so far. */
  attempts(commandKey: string): number {
    return this.attemptsByCommand.get(commandKey) ?? 0;
  }

  record(entry: Entry): void {
    this.entries.push(entry);
  }

  log(): Entry[] {
    return this.entries.map((entry) => ({ ...entry }));
  }
}
