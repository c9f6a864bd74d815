/**
 * What stands between a carrier REST request and its execution in every simulator: the injected
 * `failFirstCommandAttempts` fault, and the log of every request with the status it was answered with.
 */

export interface CommandFault {
  /** How many attempts of each request get the fault before it runs. */
  count: number;
  /** The share of requests (0–1, drawn once per request) that get the fault at all. @default 1 */
  share?: number;
}

export class CommandGate<Entry extends object, Fault extends CommandFault = CommandFault> {
  private readonly attemptsByCommand = new Map<string, number>();
  private readonly entries: Entry[] = [];

  constructor(
    private readonly fault?: Fault,
    private readonly random: () => number = Math.random,
  ) {}

  /** The error to answer instead of running the command, while it is among its first `count` attempts. */
  injectedFault(commandKey: string): Fault | undefined {
    if (!this.fault) return undefined;
    let attempts = this.attemptsByCommand.get(commandKey);
    if (attempts === undefined) {
      // A request outside the faulted share is counted as past its faulted attempts, so it always runs.
      const spared = this.random() >= (this.fault.share ?? 1);
      attempts = spared ? this.fault.count : 0;
      this.attemptsByCommand.set(commandKey, attempts);
    }
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
