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
      }
  );

export type CallEventKind = CallEvent['kind'];
export type CallEventOf<K extends CallEventKind> = Extract<CallEvent, { kind: K }>;
