import { ErrorType, type CallStatus } from '../../calls';
import { CarrierError } from '../errors';
import type { SwmlDocument } from './documents';

/**
 * The state-transition rules of the Calling API `update` command (doc comment on
 * `CallUpdateCurrentCallRequest`), checked before anything is sent so a doomed request fails with a
 * reason instead of a carrier 422 that would read as "call gone":
 * - `status: canceled` only while the leg is queued or ringing;
 * - `status: completed` only while it is answered;
 * - a redirect (`url` or `swml`) only while it is answered;
 * - nothing once the leg is in a terminal state.
 */

/** A SignalWire leg's status in the vocabulary of those rules. */
export type LegStatus =
  | 'queued'
  | 'ringing'
  | 'answered'
  | 'ending'
  | 'ended'
  | 'failed'
  | 'canceled'
  | 'completed'
  | 'busy'
  | 'no-answer';

const TERMINAL: ReadonlySet<LegStatus> = new Set(['ended', 'failed', 'canceled', 'completed', 'busy', 'no-answer']);

// SignalWire spells statuses differently per surface: Calling API leg `status`, call-state callbacks
// (`created`), voice logs (`in-progress`, `joined`), RELAY (`noAnswer`), compatibility (`no-answer`).
const WIRE_STATUSES: Record<string, LegStatus> = {
  queued: 'queued',
  initiated: 'queued',
  created: 'queued',
  ringing: 'ringing',
  answered: 'answered',
  inprogress: 'answered',
  joined: 'answered',
  ending: 'ending',
  ended: 'ended',
  failed: 'failed',
  canceled: 'canceled',
  cancelled: 'canceled',
  completed: 'completed',
  busy: 'busy',
  noanswer: 'no-answer',
};

/** A status as any SignalWire surface spells it; undefined for one it does not know. */
export function legStatusFromWire(raw: string): LegStatus | undefined {
  return WIRE_STATUSES[raw.toLowerCase().replace(/[-_\s]/g, '')];
}

/** The leg status implied by a session's view of its call (a call in our queue is an answered call). */
export function legStatusFromSession(status: CallStatus): LegStatus {
  switch (status) {
    case 'dialing':
      return 'queued';
    case 'ringing':
      return 'ringing';
    case 'answered':
    case 'bridged':
    case 'queued':
      return 'answered';
    case 'ended':
      return 'ended';
  }
}

/** What an `update` asks for: end the leg by status, or redirect it to a new document. */
export type CallUpdate = { status: 'canceled' | 'completed' } | { url: string } | { swml: SwmlDocument };

function refusal(update: CallUpdate, status: LegStatus): string | undefined {
  if (TERMINAL.has(status)) return `the call is ${status}, and a call in a terminal state cannot be updated`;
  if ('status' in update && update.status === 'canceled') {
    return status === 'queued' || status === 'ringing'
      ? undefined
      : `status "canceled" is only allowed while the call is queued or ringing, not ${status}`;
  }
  if ('status' in update) {
    return status === 'answered'
      ? undefined
      : `status "completed" is only allowed while the call is answered, not ${status}`;
  }
  return status === 'answered' ? undefined : `a redirect is only allowed while the call is answered, not ${status}`;
}

/** Throws a non-retryable `InvalidCommand` error when the rules forbid `update` in `status`. */
export function assertUpdateAllowed(update: CallUpdate, status: LegStatus): void {
  const reason = refusal(update, status);
  if (reason) {
    throw new CarrierError(`signalwire update refused: ${reason}`, ErrorType.InvalidCommand, false, {
      provider: 'signalwire',
      operation: 'update',
      detail: reason,
    });
  }
}
