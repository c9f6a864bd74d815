import type { EndCause, CallDirection, CallEvent } from './events';
import type { Provider } from './ids';

/**
 * What a call session knows, exposed by the `state` query and carried across continue-as-new.
 * Plain JSON only (records and arrays): Temporal's JSON converter drops `Map` and `Set`.
 */

export const CallStatus = {
  /** The carrier told us about the call; nothing answered yet. */
  Ringing: 'ringing',
  /** We are placing the call. */
  Dialing: 'dialing',
  Answered: 'answered',
  /** Bridged to another leg. */
  Bridged: 'bridged',
  /** Waiting in a queue. */
  Queued: 'queued',
  Ended: 'ended',
} as const;
export type CallStatus = (typeof CallStatus)[keyof typeof CallStatus];

export interface LegState {
  callId: string;
  /** A second per-leg id some carriers use (Telnyx `call_leg_id`). */
  legId?: string;
  role: 'primary' | 'agent' | 'transfer';
  to?: string;
  from?: string;
  status: CallStatus;
  endCause?: EndCause;
}

export interface OperationRecord {
  seq: number;
  op: string;
  callId: string;
  startedAt: string;
  endedAt?: string;
  outcome?: string;
}

export interface RecordingState {
  seq?: number;
  url?: string;
  recordingId?: string;
  durationMs?: number;
  savedAt: string;
}

export interface CallState {
  workflowId: string;
  provider: Provider;
  direction: CallDirection;
  flow: string;
  from: string;
  to: string;
  status: CallStatus;
  /** The carrier's id of the primary leg (the caller, or the callee of an outbound call). */
  callId?: string;
  legs: LegState[];
  startedAt: string;
  answeredAt?: string;
  endedAt?: string;
  endCause?: EndCause;
  /** The operation running now, as the flow API names it. */
  currentOperation?: string;
  /** Every digit heard, in order. */
  digits: string;
  recordings: RecordingState[];
  queue?: { name: string; position?: number };
  /** Fax on this call: pages so far, the result once it ended, and the document (a received fax's URL). */
  fax?: { pagesDone: number; result?: string; documentUrl?: string };
  /** The newest events (bounded), oldest first. */
  lastEvents: Array<Pick<CallEvent, 'kind' | 'eventId' | 'callId' | 'occurredAt'>>;
  /** The newest operations with their outcomes (bounded), oldest first. */
  operations: OperationRecord[];
  /** Events ignored as duplicates, and events that could not be applied. */
  duplicatesIgnored: number;
  eventErrors: string[];
  /** Run count: 1 + the number of continue-as-new hops. */
  runs: number;
}

export const STATE_LIMITS = {
  lastEvents: 30,
  operations: 30,
  seenEventIds: 500,
  eventErrors: 10,
} as const;
