import { CommandGate as BaseCommandGate } from '../command-gate';
import type { CommandLogEntry, FaultOptions } from './types';

/**
 * The Telnyx command gate: injected faults and the command log, plus Telnyx's `command_id` de-duplication.
 */

/** Telnyx ignores a repeated command_id for the same call within 60 seconds. */
const DEDUPE_WINDOW_MS = 60_000;

type CommandFault = NonNullable<FaultOptions['failFirstCommandAttempts']>;

export class CommandGate extends BaseCommandGate<CommandLogEntry, CommandFault> {
  private readonly acceptedByCommand = new Map<string, { at: number; response: unknown }>();

  /** The response of an earlier accepted command with this key, if inside the de-duplication window. */
  acceptedBefore(dedupeKey: string, now = Date.now()): { response: unknown } | undefined {
    const accepted = this.acceptedByCommand.get(dedupeKey);
    return accepted && now - accepted.at < DEDUPE_WINDOW_MS ? accepted : undefined;
  }

  accept(dedupeKey: string, response: unknown, now = Date.now()): void {
    this.acceptedByCommand.set(dedupeKey, { at: now, response });
  }

  /** Forgets command ids older than the window. */
  sweep(now = Date.now()): void {
    for (const [key, accepted] of this.acceptedByCommand) {
      if (now - accepted.at >= DEDUPE_WINDOW_MS) this.acceptedByCommand.delete(key);
    }
  }
}
