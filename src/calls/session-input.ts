import type { CallDirection } from './events';
import type { CallOp } from './commands';
import type { Provider } from './ids';
import type { CallState } from './state';

/** JSON arguments a routing-table entry gives its flow (for example the agent number to dial). */
export type FlowArgs = Record<string, string | number | boolean>;

/** Where a flow picks up after continue-as-new: the step it named and its own plain-JSON data. */
export interface FlowCheckpoint {
  step: string;
  data?: Record<string, unknown>;
}

/** The input of `callSessionWorkflow`. One object, so it can grow. */
export interface CallSessionInput {
  provider: Provider;
  direction: CallDirection;
  /** Name of the flow in `workflows/flows` to run. */
  flow: string;
  flowArgs?: FlowArgs;
  from: string;
  to: string;
  /** The carrier's id of the primary leg; unset for an outbound call until it is placed. */
  callId?: string;
  /**
   * Document carriers (SignalWire, jambonz): the operations this carrier takes only as documents. The
   * session hands them to the gateway through the `nextDocument` update instead of sending them itself.
   */
  documentOps?: CallOp[];
  /** Carried across continue-as-new. */
  carried?: {
    state: CallState;
    seenEventIds: string[];
    nextSequence: number;
    checkpoint: FlowCheckpoint;
    pendingEvents: unknown[];
  };
  /**
   * Continue-as-new at the next checkpoint once history is this long, earlier than Temporal's own
   * suggestion (`SESSION_MAX_HISTORY_EVENTS`): shorter histories replay faster after a cache miss.
   */
  continueAsNewAtHistoryLength?: number;
  /**
   * How long a quiet call may go before the session asks the carrier whether it is still up, first and at
   * most (the interval doubles after each quiet probe). Default 15 s and 60 s (`SESSION_LIVENESS_MAX_MS`).
   */
  liveness?: { firstQuietMs: number; maxQuietMs: number };
}

/** The inputs every session gets from configuration, whoever starts it (`Config.session`). */
export type SessionDefaults = Pick<CallSessionInput, 'continueAsNewAtHistoryLength' | 'liveness'>;

/** Every flow in `workflows/flows`; the workflow's flow table is typed by this list, so they cannot drift. */
export const FLOW_NAMES = [
  'defaultIvr',
  'outboundNotice',
  'receiveFax',
  'supportQueue',
  'queueCallback',
  // Detection and media (issue 10 item 4).
  'mediaCheck',
  // conferences:
  'conferenceRoom',
] as const;
export type FlowName = (typeof FLOW_NAMES)[number];

/** The workflow type name the gateway starts (kept here so the gateway need not import workflow code). */
export const CALL_SESSION_WORKFLOW = 'callSessionWorkflow';

/** What a session returns when it completes. */
export interface CallOutcome {
  status: 'ended';
  endCause?: string;
  flow: string;
  flowResult?: string;
  digits: string;
  recordings: string[];
  /** A fax sent or received on the call: pages, result, and the document (a received fax's URL). */
  fax?: CallState['fax'];
  runs: number;
}
