import type { RoomMember, SupervisorRole } from './supervisor';

/**
 * Provider-neutral call commands. The session decides *what* to do; an adapter in `src/providers/<name>`
 * decides how each carrier is told. Field names are the flow API's, never a carrier's.
 */

/** A prompt played before or while collecting input: text to speak or an audio URL. */
export type Prompt = { say: string; voice?: string; language?: string } | { play: string };

export interface GatherOptions {
  prompt?: Prompt;
  /** @default 1 */
  minDigits?: number;
  /** @default 1 */
  maxDigits?: number;
  /** Time to wait for the first digit once the prompt has finished. @default 5000 */
  timeoutMs?: number;
  /** @default 3000 */
  interDigitTimeoutMs?: number;
  /** @default '#' */
  terminator?: string;
  /** Digits accepted; anything else ends the gather as `invalid`. @default '0123456789*#' */
  validDigits?: string;
}

export interface RecordOptions {
  /** Play a beep before recording. @default true */
  beep?: boolean;
  /** Stop after this many seconds. @default 120 */
  maxSeconds?: number;
  /** Stop after this many seconds of silence. @default 5 */
  silenceSeconds?: number;
  /** @default 'mp3' */
  format?: 'mp3' | 'wav';
  /** @default 'single' */
  channels?: 'single' | 'dual';
}

export interface DialOptions {
  to: string;
  /** Caller id shown to the callee; defaults to the session's own number. */
  from?: string;
  /** Ring time before giving up. @default 30 */
  timeoutSeconds?: number;
  /** Answering-machine detection. @default false */
  detectMachine?: boolean;
  /** Spoken to the called party when it answers, before it is connected (the queue's name to an agent). */
  whisper?: string;
}

// Detection and media (issue 10 item 4).

export interface DetectMachineOptions {
  /** How long the detector may run before it gives up with `unknown`. @default 30 */
  timeoutSeconds?: number;
  /** For a machine, keep listening until its greeting ends (the beep), so a message can be left. @default true */
  waitForBeep?: boolean;
}

/** Which audio a stream carries: what the caller says, what the caller hears, or both. */
export type StreamTrack = 'inbound' | 'outbound' | 'both';

export interface StreamOptions {
  /** The WebSocket (`wss://`) that receives the audio. */
  url: string;
  /** @default 'inbound' */
  track?: StreamTrack;
}

export interface TranscribeOptions {
  /** BCP-47 language of the speech. @default 'en-US' */
  language?: string;
  /** Where the carrier posts the transcript, where it posts to a URL of its own choosing (SignalWire `webhook`). */
  webhookUrl?: string;
}

/** How a call joins a conference (`call.joinConference`). */
export interface ConferenceOptions {
  /** Join muted: hears everyone, heard by nobody. @default false */
  muted?: boolean;
  /** The conference starts when this member enters (a moderator). @default true */
  startOnEnter?: boolean;
  /** The conference ends, and every member leaves it, when this member leaves. @default false */
  endOnExit?: boolean;
  /** A beep when the member enters. @default false */
  beep?: boolean;
  /** At most this many members. */
  maxParticipants?: number;
}

/**
 * A command's payload; the session adds the command key and the target leg. `target` on a stop, pause or
 * resume is the command key of the operation it acts on (SignalWire needs its `control_id`); the session
 * sets it when that operation was sent as a REST command.
 */
export type CallCommandBody =
  | { op: 'answer' }
  | { op: 'hangup' }
  | { op: 'reject'; reason: 'busy' | 'rejected' }
  | { op: 'play'; url: string; loop?: number }
  | { op: 'say'; text: string; voice?: string; language?: string }
  | { op: 'stopPlayback'; target?: string }
  | ({ op: 'gather' } & GatherOptions)
  | { op: 'stopGather'; target?: string }
  | ({ op: 'recordStart' } & RecordOptions)
  | { op: 'recordStop'; target?: string }
  | { op: 'recordPause'; target?: string }
  | { op: 'recordResume'; target?: string }
  /**
   * `keepOnUnbridge`: this leg stays up when the other leaves the bridge (hangs up, or is bridged elsewhere by a
   * warm transfer's consult), and the session decides what follows; without it Telnyx hangs this leg up too.
   */
  | { op: 'bridge'; otherCallId: string; keepOnUnbridge?: boolean }
  | { op: 'transfer'; to: string; from?: string; timeoutSeconds?: number }
  | { op: 'sendDtmf'; digits: string }
  | { op: 'enqueue'; queue: string; maxWaitSeconds?: number }
  | { op: 'leaveQueue' }
  | { op: 'forkStart'; rx?: string; tx?: string }
  | { op: 'forkStop'; target?: string }
  | { op: 'clientStateUpdate' }
  | { op: 'sendFax'; documentUrl: string; headerInfo?: string; identity?: string }
  | { op: 'receiveFax' }
  /** Document carriers: dial a new leg and bridge it to this call in one step (SWML `connect`, jambonz `dial`). */
  | { op: 'connect'; to: string; from?: string; timeoutSeconds?: number; whisper?: string }
  /** Document carriers: make the carrier fetch the call's next document now (SignalWire `update`, jambonz LCC `call_hook`). */
  | { op: 'redirect' }
  /** Mute or unmute the caller's leg (a live control; jambonz `mute_status`, only during a dial). */
  | { op: 'mute' }
  | { op: 'unmute' }
  // Detection and media (issue 10 item 4): mid-call AMD, audio streams, and SignalWire's media controls.
  | ({ op: 'detectMachine' } & DetectMachineOptions)
  | ({ op: 'streamStart' } & StreamOptions)
  | { op: 'streamStop'; target?: string }
  /** Start a running gather's no-input timer now (SignalWire `calling.collect.start_input_timers`). */
  | { op: 'startInputTimers'; target?: string }
  | { op: 'playPause'; target?: string }
  | { op: 'playResume'; target?: string }
  /** Change a running playback's volume, in dB from -40 to 40. */
  | { op: 'playVolume'; volumeDb: number; target?: string }
  | { op: 'denoiseStart' }
  | { op: 'denoiseStop' }
  | ({ op: 'transcribeStart' } & TranscribeOptions)
  | { op: 'transcribeStop' }
  /** An application event delivered on the call (SignalWire `calling.user_event`). */
  | { op: 'userEvent'; event: Record<string, string | number | boolean> }
  /** Hand the call over to a SIP endpoint with a SIP REFER; the call leaves this flow when the REFER succeeds. */
  | { op: 'refer'; to: string }
  /** Stop receiving a fax; `target` is the carrier's id of the fax operation (SignalWire starts faxes in SWML). */
  | { op: 'stopReceiveFax'; target?: string }
  // supervisor controls:
  /**
   * Change the role of a supervisor leg already on the call, sent to that leg (Telnyx `switch_supervisor_role`;
   * jambonz, SignalWire: the leg rejoins `room`, the conference the call was moved into, in the new role; a
   * SignalWire whisper coaches `agentCallId`).
   */
  | { op: 'switchSupervisorRole'; role: SupervisorRole; room?: string; agentCallId?: string }
  /**
   * Moves a bridged call into the conference `room`, so a supervisor or a consulted party can join it: the party it
   * is bridged to joins the room `as` the agent (ending it when it leaves; the default) or as a plain member (a warm
   * transfer's consult), and the call itself fetches its next document (jambonz Live Call Control
   * `child_call_hook`; SignalWire `update` of the party's leg, `otherCallId`).
   */
  | { op: 'moveToConference'; room: string; otherCallId?: string; as?: RoomMember }
  /**
   * A member of the call's `room` (this leg: an agent or a consulted party) rejoins it `as` another member, the
   * way a warm transfer hands the room's end to the party that stays (jambonz LCC `call_hook` to a member hook,
   * SignalWire `update`; a SignalWire whisper coaches `agentCallId`).
   */
  | { op: 'rejoinConference'; room: string; as: RoomMember; agentCallId?: string }
  // conferences:
  /** Join the named conference; the operation lasts until the call leaves it (`conference.left`). */
  | ({ op: 'joinConference'; name: string } & ConferenceOptions)
  /** Hold or release this call as a conference member (a live control; jambonz `conf_hold_status`). */
  | { op: 'conferenceHold' }
  | { op: 'conferenceUnhold' };

export type CallOp = CallCommandBody['op'];

/** A command addressed to one leg, with its idempotency key. */
export type CallCommand = CallCommandBody & {
  /** The carrier's id of the leg the command is for. */
  callId: string;
  /** See `commandKey`: stable across retries, unique per operation. */
  commandKey: string;
  /** The workflow that owns the leg; carriers echo it back so other legs' webhooks route here. */
  ownerWorkflowId: string;
  /** Document carriers: how many times this command was delivered again after a redirect cut it short. */
  delivery?: number;
};

/** An outbound leg to place, owned by a session (the caller of an outbound call, or an agent leg). */
export interface PlaceCallRequest extends DialOptions {
  from: string;
  commandKey: string;
  ownerWorkflowId: string;
  /**
   * A supervisor leg: attached to the leg `callId` in `role` once it answers (Telnyx `supervise_call_control_id`),
   * or, where the call was moved into the conference `room` (jambonz), joining that room in `role`.
   */
  supervise?: { callId: string; role: SupervisorRole; room?: string };
  /**
   * The answered leg joins the conference `room` `as` a member instead of fetching the session's document (a warm
   * transfer's consulted party on jambonz and SignalWire).
   */
  joinRoom?: { room: string; as: RoomMember };
}

/** A call placed only to send a fax (the send-fax workflow): the carrier sends the document once answered. */
export interface FaxCallRequest {
  to: string;
  from: string;
  /** URL of the PDF to send. */
  documentUrl: string;
  /** The header line printed on each page. */
  headerInfo?: string;
  /** Our station identity; carriers default it to `from`. */
  identity?: string;
  /** The fax workflow: every event of the fax call goes there. */
  ownerWorkflowId: string;
  /** Ring time before the attempt counts as not answered. @default 60 */
  timeoutSeconds?: number;
}

/** What the carrier tells us synchronously about a leg it has accepted to place. */
export interface PlacedCall {
  callId: string;
  /**
   * A fax that is the carrier's own resource rather than a step of the call (Telnyx Programmable Fax): the id
   * that stops it, known at once. Faxes run as a call's step get theirs from their events.
   */
  faxControlId?: string;
}
