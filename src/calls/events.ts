import type { Provider } from './ids';

/**
 * One normalised vocabulary of call events for all carriers. Adapters turn each carrier's webhook into
 * zero or more `CallEvent`s; the session never sees a carrier payload.
 */

/** Why a call ended, normalised across carriers. */
export const EndCause = {
  /** A party hung up after the call was answered. */
  Normal: 'normal',
  /** The caller gave up before the call was answered. */
  Cancelled: 'cancelled',
  Busy: 'busy',
  NoAnswer: 'no-answer',
  Rejected: 'rejected',
  /** The call hit its time limit. */
  TimeLimit: 'time-limit',
  /** The number does not exist or cannot be reached. */
  Unreachable: 'unreachable',
  Failed: 'failed',
  /** The carrier said the call no longer exists (for example Telnyx 90018) before we saw a hangup. */
  Gone: 'gone',
  Unknown: 'unknown',
} as const;
export type EndCause = (typeof EndCause)[keyof typeof EndCause];

export type CallDirection = 'inbound' | 'outbound';

/** Who ended the call, where the carrier says. */
export type HangupSource = 'caller' | 'callee' | 'app' | 'unknown';

export interface CallEventBase {
  provider: Provider;
  /** The carrier's id of this event; the session ignores an id it has already seen. */
  eventId: string;
  /** The carrier's id of the leg this event is about ('' when the carrier only names the leg by `legId`). */
  callId: string;
  /** A second per-leg id some carriers use on some events (Telnyx `call_leg_id` on `call.recording.saved`). */
  legId?: string;
  /** ISO-8601 time the carrier says the event happened. */
  occurredAt: string;
  /**
   * The command key of the operation this event belongs to, when the carrier tells us (SignalWire
   * `control_id`, our tag in Telnyx `client_state`). Advisory: Telnyx echoes the latest state, not the
   * command's, so sessions fall back to the oldest pending operation of the matching kind.
   */
  controlId?: string;
}

export type GatherEndReason = 'complete' | 'timeout' | 'invalid' | 'cancelled' | 'hangup' | 'error';
export type PlaybackEndStatus = 'completed' | 'cancelled' | 'failed' | 'hangup';
export type MachineDetectionResult = 'human' | 'machine' | 'fax' | 'silence' | 'unknown';
export type QueueLeaveReason = 'bridged' | 'leave' | 'timeout' | 'hangup' | 'error';
/**
 * Why a fax failed, where the carrier names a reason (Telnyx `failure_reason`); carriers that report pages
 * and the call instead (SignalWire) leave it out. The fax workflow's retry rule reads it.
 */
export const FaxFailure = {
  /** The far end was busy. */
  Busy: 'busy',
  /** Nobody answered. */
  NoAnswer: 'no-answer',
  /** Answered, but the fax machines did not agree on a transmission: nothing got through. */
  Negotiation: 'negotiation',
  /** Our side's channels or capacity were exhausted for the moment. */
  Congestion: 'congestion',
  /** The call dropped while sending: some pages may have arrived. */
  Dropped: 'dropped',
  /** The number is invalid, unallocated or refuses the call: another try reaches the same. */
  Unreachable: 'unreachable',
  /** Our account, profile or number may not send this fax. */
  Refused: 'refused',
  /** The document could not be fetched or converted. */
  Document: 'document',
  Cancelled: 'cancelled',
  Unknown: 'unknown',
} as const;
export type FaxFailure = (typeof FaxFailure)[keyof typeof FaxFailure];

export type CallEvent = CallEventBase &
  (
    | { kind: 'call.incoming'; direction: CallDirection; from: string; to: string }
    | { kind: 'call.outgoing'; from: string; to: string }
    | { kind: 'call.ringing' }
    | { kind: 'call.answered' }
    | { kind: 'call.ended'; cause: EndCause; source: HangupSource; sipCode?: number }
    | { kind: 'dtmf'; digit: string }
    | { kind: 'gather.ended'; reason: GatherEndReason; digits: string; speech?: { text: string; confidence?: number } }
    | { kind: 'playback.started' }
    | { kind: 'playback.ended'; status: PlaybackEndStatus }
    | { kind: 'speak.started' }
    | { kind: 'speak.ended'; status: PlaybackEndStatus }
    | { kind: 'recording.saved'; url?: string; recordingId?: string; durationMs?: number }
    | { kind: 'recording.failed'; reason: string }
    | { kind: 'bridged'; otherCallId?: string }
    | { kind: 'unbridged'; otherCallId?: string }
    | { kind: 'queue.joined'; queue: string; position?: number }
    | { kind: 'queue.left'; queue: string; reason: QueueLeaveReason; waitSeconds?: number }
    | { kind: 'machine.detection.ended'; result: MachineDetectionResult }
    | { kind: 'machine.greeting.ended'; beep: boolean }
    | { kind: 'fork.started' }
    | { kind: 'fork.stopped' }
    | { kind: 'stream.started'; streamUrl?: string }
    | { kind: 'stream.stopped'; streamUrl?: string }
    | { kind: 'fax.page'; page: number; direction: 'send' | 'receive' }
    | {
        kind: 'fax.ended';
        success: boolean;
        pages: number;
        resultCode?: string;
        resultText?: string;
        remoteIdentity?: string;
        documentUrl?: string;
        /** The carrier's failure reason, normalised (absent on success and where the carrier gives none). */
        failure?: FaxFailure;
      }
    // Detection and media (issue 10 item 4).
    | { kind: 'stream.failed'; reason: string }
    /** A SIP REFER finished: `success` when the far end accepted it and the call moved on. */
    | { kind: 'refer.ended'; success: boolean; sipCode?: number }
    // conferences:
    /** The call left the conference it joined (it ended, the call was moved out, or the caller hung up). */
    | { kind: 'conference.left' }
  );

export type CallEventKind = CallEvent['kind'];
export type CallEventOf<K extends CallEventKind> = Extract<CallEvent, { kind: K }>;
