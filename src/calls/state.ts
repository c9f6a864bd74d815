import type { EndCause, CallDirection, CallEvent } from './events';
import type { Provider } from './ids';
import type { TransferState } from './transfer';
import type { SupervisorRole } from './supervisor';

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
  role: 'primary' | 'agent' | 'transfer' | 'supervisor';
  to?: string;
  from?: string;
  status: CallStatus;
  endCause?: EndCause;
  /** A supervisor leg's current role (`role: 'supervisor'`). */
  supervisorRole?: SupervisorRole;
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

/** One line of a call's story: when (seconds since the call started) and what happened, in plain words. */
export interface TimelineEntry {
  at: number;
  text: string;
  /** Set on the one entry that stands for the middle of a long call: how many entries it replaces. */
  omitted?: number;
}

/**
 * How a call went, once its session is done: the `CallOutcome` search attribute, first rule that fits.
 */
export const CallOutcomeValue = {
  /** The flow failed (a bug, or a carrier refused a command). */
  Failed: 'failed',
  /** The caller was bridged to another leg (an agent, a transfer) at some point. */
  Bridged: 'bridged',
  /** A recording was saved (a voicemail). */
  Voicemail: 'voicemail',
  /** A fax was sent or received on the call. */
  Fax: 'fax',
  /** An outbound call nobody answered (busy, no answer, unreachable). */
  NoAnswer: 'no-answer',
  /** An inbound call the flow turned down before answering it. */
  Rejected: 'rejected',
  /** The other party (the caller, or the callee of an outbound call) hung up before the flow was done. */
  Abandoned: 'abandoned',
  /** The flow ran to its end and hung up. */
  Completed: 'completed',
} as const;
export type CallOutcomeValue = (typeof CallOutcomeValue)[keyof typeof CallOutcomeValue];

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
  /** The call in plain words, oldest first (bounded: the first and the newest entries, see `STATE_LIMITS`). */
  timeline: TimelineEntry[];
  /** Who ended the call: this session (hangup, reject), the other party, or the carrier's word (gone, no answer). */
  endedBy?: 'session' | 'remote' | 'carrier';
  /**
   * The leg the caller was bridged to last (an agent, a transfer); `since` while it still is. `room`: the bridge
   * was moved into this conference for a supervisor (jambonz), and lasts until the caller leaves it.
   */
  bridge?: { callId?: string; address?: string; since?: string; room?: string };
  /**
   * The caller's bridges keep it up when the other party leaves (Telnyx `park_after_unbridge`): the session
   * hangs up or goes on when the agent has gone, and a warm transfer's consult can hold the caller.
   */
  bridgeKeepsCaller?: boolean;
  /** Seconds the caller spent bridged to another leg, in all (the `CallTalkSeconds` search attribute). */
  talkSeconds: number;
  /** How the call went, set when the session is done (the `CallOutcome` search attribute). */
  outcome?: CallOutcomeValue;
  /** The newest transfer of the bridged call (live controls `transfer`, `warm-transfer`). */
  transfer?: TransferState;
}

export const STATE_LIMITS = {
  lastEvents: 30,
  operations: 30,
  seenEventIds: 500,
  eventErrors: 10,
  /** A timeline keeps its first entries and its newest ones; one entry counts those left out between. */
  timelineHead: 20,
  timelineTail: 30,
} as const;
