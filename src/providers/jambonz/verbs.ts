import type { CallCommandBody, GatherOptions, Prompt, RecordOptions } from '../../calls/commands';
import { isMediaCommand } from '../../calls/media';
import { ErrorType } from '../../calls/errors';
import { unsupported } from '../ops';
import { JAMBONZ_NO_FAX } from './ops';
import { isDialTarget } from '../../calls/ids';
import { CarrierError } from '../errors';
import type { RoomMember } from '../../calls/supervisor';
import { JambonzHook, type OperationHooks } from './webhook';
import { mediaVerbs } from './media';

/**
 * jambonz verbs (verb-specifications 0.1.13), typed as a union on `verb` with the properties we use, under
 * the names jambonz gives them. Every hook is an absolute URL string: the `redirect` task parses its
 * actionHook with `new URL(...)`, so a `{url}` object would break it.
 */

/** Text-to-speech settings; `vendor: 'default'` keeps the application's vendor. */
export interface Synthesizer {
  vendor: string;
  language?: string;
  voice?: string;
}

export interface Recognizer {
  vendor: string;
  language?: string;
  hints?: string[];
}

export interface AnswerVerb {
  verb: 'answer';
  id?: string;
}

export interface SayVerb {
  verb: 'say';
  id?: string;
  /** An array picks one entry at random. */
  text: string | string[];
  /** A count, or `'forever'`. */
  loop?: number | 'forever';
  synthesizer?: Synthesizer;
  /** Speak before answering (183 with SDP). */
  earlyMedia?: boolean;
}

export interface PlayVerb {
  verb: 'play';
  id?: string;
  /** An array plays in sequence. */
  url: string | string[];
  loop?: number | 'forever';
  earlyMedia?: boolean;
  /** Stop playing after this many seconds. */
  timeoutSecs?: number;
  /** Called with `reason: playCompleted | playFailed`. */
  actionHook?: string;
}

/** A prompt nested in `gather`: jambonz runs it as a child task, so it sends no hooks of its own. */
export type NestedSay = Omit<SayVerb, 'verb' | 'id'>;
export type NestedPlay = Omit<PlayVerb, 'verb' | 'id' | 'actionHook'>;

export interface GatherVerb {
  verb: 'gather';
  id?: string;
  /** Called with `reason: dtmfDetected | speechDetected | timeout | error | stt-low-confidence`. */
  actionHook?: string;
  /** jambonz default: `['digits']`. */
  input?: Array<'digits' | 'speech'>;
  /** Exactly this many digits; use min/maxDigits for a range. */
  numDigits?: number;
  minDigits?: number;
  maxDigits?: number;
  /** Seconds between digits, once minDigits are in. */
  interDigitTimeout?: number;
  finishOnKey?: string;
  /** Seconds to wait for input once the prompt has finished; 0 waits forever. jambonz default: 15. */
  timeout?: number;
  /** Seconds of silence that end an utterance. */
  speechTimeout?: number;
  recognizer?: Recognizer;
  say?: NestedSay;
  play?: NestedPlay;
  listenDuringPrompt?: boolean;
  dtmfBargein?: boolean;
  bargein?: boolean;
}

export type DialTarget =
  | { type: 'phone'; number: string; /** Carrier name to force. */ trunk?: string }
  | { type: 'sip'; sipUri: string; auth?: { username: string; password: string } }
  | { type: 'user'; name: string };

export interface DialVerb {
  verb: 'dial';
  id?: string;
  /** Rung simultaneously; the first to answer is bridged. */
  target: DialTarget[];
  callerId?: string;
  callerName?: string;
  /** Ring seconds. jambonz default: 60. */
  timeout?: number;
  /** Maximum seconds of the bridged call. */
  timeLimit?: number;
  /** Keep an unanswered caller ringing until the callee answers. */
  answerOnBridge?: boolean;
  /** Called when the dial ends, with `dial_call_status`, `dial_call_sid`, `dial_sip_status`. */
  actionHook?: string;
  /** Called when the callee answers; the verbs it returns run on the callee's leg before the bridge. */
  confirmHook?: string;
  dialMusic?: string;
  headers?: Record<string, string>;
  amd?: AnswerMachineDetection;
}

export interface AnswerMachineDetection {
  /** Called for each detection event (`type: amd_human_detected`, ...). */
  actionHook: string;
  thresholdWordCount?: number;
}

export interface HangupVerb {
  verb: 'hangup';
  id?: string;
  headers?: Record<string, string>;
}

/** Rejects a call that has not been answered. */
export interface SipDeclineVerb {
  verb: 'sip:decline';
  id?: string;
  status: number;
  reason?: string;
  headers?: Record<string, string>;
}

export interface PauseVerb {
  verb: 'pause';
  id?: string;
  /** Seconds. */
  length: number;
}

export interface RedirectVerb {
  verb: 'redirect';
  id?: string;
  /** Fetched (`session:redirect`); the verbs it returns replace the application. */
  actionHook: string;
  /** Replaces the call's status hook. */
  statusHook?: string;
}

/** Streams call audio to a WebSocket; our recording mechanism (`record` is in the spec but cannot run). */
export interface ListenVerb {
  verb: 'listen';
  id?: string;
  /** `ws://` or `wss://` URL. */
  url: string;
  /** Called when the stream ends, with `dial_call_duration` (seconds streamed) and `digits` if `finishOnKey`. */
  actionHook?: string;
  /** `mono`: the caller; `stereo`: caller and us on two channels; `mixed`: both on one. */
  mixType?: 'mono' | 'stereo' | 'mixed';
  sampleRate?: number;
  /** Seconds. */
  maxLength?: number;
  playBeep?: boolean;
  finishOnKey?: string;
  passDtmf?: boolean;
  metadata?: Record<string, unknown>;
}

export interface DtmfVerb {
  verb: 'dtmf';
  id?: string;
  /** Digits to send, `0-9 * # A-D` and `w` for a pause. */
  dtmf: string;
  /** Milliseconds per digit. */
  duration?: number;
}

/** Blind transfer with SIP REFER. */
export interface SipReferVerb {
  verb: 'sip:refer';
  id?: string;
  referTo: string;
  referredBy?: string;
  headers?: Record<string, string>;
  /** Called with `refer_status`, the SIP status of the REFER. */
  actionHook?: string;
  /** Called with NOTIFY progress after a 202. */
  eventHook?: string;
}

export interface EnqueueVerb {
  verb: 'enqueue';
  id?: string;
  name: string;
  /** Called when the caller leaves the queue, with `queue_result: bridged | leave | hangup | error`. */
  actionHook?: string;
  /** Polled while the caller waits; may answer with play, say, pause and leave only. */
  waitHook?: string;
  priority?: number;
}

export interface DequeueVerb {
  verb: 'dequeue';
  id?: string;
  name: string;
  /** Called when the bridge ends, with `dequeue_result: complete | timeout | hangup`. */
  actionHook?: string;
  /** Seconds to wait for a member; 0 waits forever. */
  timeout?: number;
  beep?: boolean;
  /** Take this caller rather than the head of the queue. */
  callSid?: string;
}

/** Ends an `enqueue`; only valid in a waitHook document. */
export interface LeaveVerb {
  verb: 'leave';
  id?: string;
}

/** Joins (or starts) a named conference; its actionHook is called when the member leaves it. */
export interface ConferenceVerb {
  verb: 'conference';
  id?: string;
  name: string;
  beep?: boolean;
  /** This member starts the conference (otherwise it waits for one that does). */
  startConferenceOnEnter?: boolean;
  /** The conference ends, and every member leaves it, when this member leaves. */
  endConferenceOnExit?: boolean;
  joinMuted?: boolean;
  maxParticipants?: number;
  /** Tags this member; another member's `speakOnlyTo` names the tag. */
  memberTag?: string;
  /** This member is heard only by members with this tag (coaching). */
  speakOnlyTo?: string;
  actionHook?: string;
}

/** Replaces the call's `customerData`, which jambonz echoes in every later webhook. */
export interface TagVerb {
  verb: 'tag';
  id?: string;
  data: Record<string, unknown>;
}

/** Background audio stream, set through `config` (runs alongside the following verbs). */
export interface BackgroundListen {
  enable: boolean;
  url?: string;
  mixType?: 'mono' | 'stereo' | 'mixed';
  sampleRate?: number;
  metadata?: Record<string, unknown>;
}

export interface ConfigVerb {
  verb: 'config';
  id?: string;
  synthesizer?: Synthesizer;
  recognizer?: Recognizer;
  listen?: BackgroundListen;
  onHoldMusic?: string;
  notifyEvents?: boolean;
  /** Background answering-machine detection; verdicts go to `actionHook` (issue 10 item 4). */
  amd?: { actionHook: string; timers?: { decisionTimeoutMs?: number } };
}

export type JambonzVerb =
  | AnswerVerb
  | SayVerb
  | PlayVerb
  | GatherVerb
  | DialVerb
  | HangupVerb
  | SipDeclineVerb
  | PauseVerb
  | RedirectVerb
  | ListenVerb
  | DtmfVerb
  | SipReferVerb
  | EnqueueVerb
  | DequeueVerb
  | LeaveVerb
  | TagVerb
  | ConfigVerb
  // conferences:
  | ConferenceVerb;

export type JambonzVerbName = JambonzVerb['verb'];
export type VerbOf<V extends JambonzVerbName> = Extract<JambonzVerb, { verb: V }>;
/** A verb's properties without its `verb` field. */
export type VerbProps<V extends JambonzVerbName> = Omit<VerbOf<V>, 'verb'>;

/** Builds a verb, leaving out properties that are undefined so the document shows only what was set. */
function verb<V extends JambonzVerbName>(name: V, props: VerbProps<V>): VerbOf<V> {
  const defined = Object.entries(props).filter(([, value]) => value !== undefined);
  return { verb: name, ...Object.fromEntries(defined) } as VerbOf<V>;
}

export const answerVerb = (props: VerbProps<'answer'> = {}): AnswerVerb => verb('answer', props);
export const sayVerb = (props: VerbProps<'say'>): SayVerb => verb('say', props);
export const playVerb = (props: VerbProps<'play'>): PlayVerb => verb('play', props);
export const dialVerb = (props: VerbProps<'dial'>): DialVerb => verb('dial', props);
export const hangupVerb = (props: VerbProps<'hangup'> = {}): HangupVerb => verb('hangup', props);
export const sipDeclineVerb = (props: VerbProps<'sip:decline'>): SipDeclineVerb => verb('sip:decline', props);
export const pauseVerb = (props: VerbProps<'pause'>): PauseVerb => verb('pause', props);
export const redirectVerb = (props: VerbProps<'redirect'>): RedirectVerb => verb('redirect', props);
export const listenVerb = (props: VerbProps<'listen'>): ListenVerb => verb('listen', props);
export const dtmfVerb = (props: VerbProps<'dtmf'>): DtmfVerb => verb('dtmf', props);
export const sipReferVerb = (props: VerbProps<'sip:refer'>): SipReferVerb => verb('sip:refer', props);
export const enqueueVerb = (props: VerbProps<'enqueue'>): EnqueueVerb => verb('enqueue', props);
export const dequeueVerb = (props: VerbProps<'dequeue'>): DequeueVerb => verb('dequeue', props);
export const leaveVerb = (props: VerbProps<'leave'> = {}): LeaveVerb => verb('leave', props);
export const tagVerb = (props: VerbProps<'tag'>): TagVerb => verb('tag', props);
export const configVerb = (props: VerbProps<'config'>): ConfigVerb => verb('config', props);
export const conferenceVerb = (props: VerbProps<'conference'>): ConferenceVerb => verb('conference', props);

/** `gather` with its prompt nested, as jambonz wants it: `{say: {...}}` or `{play: {...}}`. */
export function gatherVerb(props: Omit<VerbProps<'gather'>, 'say' | 'play'> & { prompt?: Prompt }): GatherVerb {
  const { prompt, ...gather } = props;
  return verb('gather', { ...gather, ...(prompt && nestedPrompt(prompt)) });
}

function nestedPrompt(prompt: Prompt): { say: NestedSay } | { play: NestedPlay } {
  if ('play' in prompt) return { play: { url: prompt.play } };
  const synthesizer = synthesizerFor(prompt.voice, prompt.language);
  return { say: synthesizer ? { text: prompt.say, synthesizer } : { text: prompt.say } };
}

/** The flow API names a voice and language but no TTS vendor; `'default'` keeps the application's. */
export function synthesizerFor(voice: string | undefined, language: string | undefined): Synthesizer | undefined {
  if (voice === undefined && language === undefined) return undefined;
  const synthesizer: Synthesizer = { vendor: 'default' };
  if (language !== undefined) synthesizer.language = language;
  if (voice !== undefined) synthesizer.voice = voice;
  return synthesizer;
}

/** A dial target from an E.164 number or a SIP URI (the forms `isDialTarget` accepts). */
export function dialTarget(to: string): DialTarget {
  if (!isDialTarget(to)) {
    throw new CarrierError(
      `jambonz cannot dial "${to}": expected an E.164 number (+15551234567) or a sip: URI`,
      ErrorType.InvalidCommand,
      false,
      { provider: 'jambonz', operation: 'dial' },
    );
  }
  return to.startsWith('+') ? { type: 'phone', number: to } : { type: 'sip', sipUri: to };
}

/** How long a holding document pauses before asking the session again. */
export const HOLD_PAUSE_SECONDS = 2;

/**
 * The document returned when the session has nothing queued yet: a short pause (which does not answer the
 * call), then a redirect that asks the session again. jambonz hangs up once it runs out of verbs, so every
 * document the gateway returns must end in a verb that calls back: this, or an operation's own actionHook.
 */
export function holdingDocument(nextDocumentUrl: string, pauseSeconds = HOLD_PAUSE_SECONDS): JambonzVerb[] {
  return [pauseVerb({ length: pauseSeconds }), redirectVerb({ actionHook: nextDocumentUrl })];
}

/**
 * The answer to an enqueue waitHook when the session has nothing to play: waitHook documents may hold only
 * play, say, pause and leave, and an empty one stops jambonz polling, so the caller would sit in silence.
 */
export function queueHoldingDocument(pauseSeconds = HOLD_PAUSE_SECONDS): JambonzVerb[] {
  return [pauseVerb({ length: pauseSeconds })];
}

/** The answer to a dial's confirmHook: the whisper, said on the called leg; the bridge follows when it ends. */
export function confirmDocument(whisper: string): JambonzVerb[] {
  return [sayVerb({ text: whisper })];
}

/** The tag of the agent in a supervised call's room: a whispering supervisor speaks only to it. */
export const AGENT_MEMBER_TAG = 'agent';

/**
 * How each member of a call's room joins it. The agent ends the room when it leaves, which hands the caller back
 * to its flow; a plain member (a consulted party) does not; a supervisor joins muted (`monitor`), heard by the
 * agent only (`whisper`), or as an equal member (`barge`).
 */
const ROOM_MEMBER_PARTS: Record<RoomMember, Partial<ConferenceVerb>> = {
  agent: { memberTag: AGENT_MEMBER_TAG, endConferenceOnExit: true },
  member: {},
  monitor: { joinMuted: true },
  whisper: { speakOnlyTo: AGENT_MEMBER_TAG },
  barge: {},
};

/** The verbs of a call's room for a member other than the caller (`JambonzHook.Member`), then a hang-up once out. */
export function roomMemberDocument(room: string, as: RoomMember): JambonzVerb[] {
  const part = ROOM_MEMBER_PARTS[as];
  return [conferenceVerb({ name: room, beep: false, startConferenceOnEnter: true, ...part }), hangupVerb()];
}

/**
 * The jambonz queue every `enqueue` parks its caller in. The queue workflow, not jambonz, keeps order and
 * positions; jambonz only holds the caller until an agent leg takes that exact call with
 * `dequeue {name, callSid}`. One shared name is what lets the neutral `bridge` (which names only the other
 * call) find the caller.
 */
export const JAMBONZ_PARKING_QUEUE = 'durable-calls';

/** Seconds a `bridge` waits for the other call to be found in the parking queue. */
export const BRIDGE_DEQUEUE_TIMEOUT_SECONDS = 15;

/** Defaults of the flow API (see `GatherOptions`, `DialOptions`, `RecordOptions`); jambonz's own differ. */
const GATHER_DEFAULTS = { minDigits: 1, maxDigits: 1, timeoutMs: 5000, interDigitTimeoutMs: 3000, terminator: '#' };
const DIAL_TIMEOUT_SECONDS = 30;
const RECORD_DEFAULTS = { beep: true, maxSeconds: 120 };

/**
 * The verbs that carry out a neutral command in the session's next document. Verbs that end on their own
 * call back through `hooks` (their actionHook, or a redirect after `say`), which is how the session learns
 * the outcome and gets asked for the document after; so such a command ends its document, because jambonz
 * replaces whatever follows with the hook's answer. `answer`, `sendDtmf` and `clientStateUpdate` call
 * nothing back: the session counts them done once the document is delivered (`answer` is confirmed by the
 * `in-progress` status).
 *
 * Throws `CarrierError` (InvalidCommand) for ops that only Live Call Control can do, and `Unsupported` for fax.
 */
export function mapCommandToVerbs(command: CallCommandBody, hooks: OperationHooks): JambonzVerb[] {
  // Detection and media (issue 10 item 4).
  if (isMediaCommand(command)) return mediaVerbs(command, hooks);
  switch (command.op) {
    case 'answer':
      return [answerVerb()];
    case 'hangup':
      return [hangupVerb()];
    case 'reject':
      return [
        command.reason === 'busy'
          ? sipDeclineVerb({ status: 486, reason: 'Busy Here' })
          : sipDeclineVerb({ status: 603, reason: 'Decline' }),
      ];
    case 'play':
      return [playVerb({ url: command.url, loop: command.loop, actionHook: hooks.url(JambonzHook.Play) })];
    case 'say': {
      const synthesizer = synthesizerFor(command.voice, command.language);
      return [sayVerb({ text: command.text, synthesizer }), redirectVerb({ actionHook: hooks.url(JambonzHook.Say) })];
    }
    case 'gather':
      return [gatherForCommand(command, hooks)];
    case 'recordStart':
      return [listenForRecording(command, hooks)];
    case 'transfer':
      return [
        dialVerb({
          target: [dialTarget(command.to)],
          callerId: command.from,
          timeout: command.timeoutSeconds ?? DIAL_TIMEOUT_SECONDS,
          answerOnBridge: true,
          actionHook: hooks.url(JambonzHook.Dial),
        }),
      ];
    case 'connect':
      return [
        dialVerb({
          target: [dialTarget(command.to)],
          callerId: command.from,
          timeout: command.timeoutSeconds ?? DIAL_TIMEOUT_SECONDS,
          actionHook: hooks.url(JambonzHook.Dial),
          ...(command.whisper ? { confirmHook: hooks.confirmUrl(command.whisper) } : {}),
        }),
      ];
    case 'bridge':
      return [
        dequeueVerb({
          name: JAMBONZ_PARKING_QUEUE,
          callSid: command.otherCallId,
          timeout: BRIDGE_DEQUEUE_TIMEOUT_SECONDS,
          actionHook: hooks.url(JambonzHook.Dequeue),
        }),
      ];
    case 'enqueue':
      // jambonz has no queue time limit: the session enforces maxWaitSeconds by answering a waitHook with `leave`.
      return [
        enqueueVerb({
          name: JAMBONZ_PARKING_QUEUE,
          waitHook: hooks.url(JambonzHook.Wait),
          actionHook: hooks.url(JambonzHook.Enqueue),
        }),
      ];
    case 'leaveQueue':
      return [leaveVerb()];
    case 'sendDtmf':
      return [dtmfVerb({ dtmf: command.digits })];
    case 'forkStart':
      return [configVerb({ listen: backgroundStream(command.rx, command.tx) })];
    case 'forkStop':
      return [configVerb({ listen: { enable: false } })];
    case 'clientStateUpdate':
      return [tagVerb({ data: ownerTag(hooks.ownerWorkflowId) })];
    case 'sendFax':
    case 'receiveFax':
      throw unsupported('jambonz', command.op, JAMBONZ_NO_FAX);
    case 'stopPlayback':
    case 'stopGather':
    case 'recordStop':
    case 'recordPause':
    case 'recordResume':
    case 'redirect':
    case 'mute':
    case 'unmute':
      throw liveControlOnly(command.op);
    // supervisor controls (Live Call Control on a running call):
    case 'switchSupervisorRole':
    case 'moveToConference':
    case 'rejoinConference':
      throw liveControlOnly(command.op);
    // conferences:
    case 'joinConference':
      return [
        conferenceVerb({
          name: command.name,
          beep: command.beep,
          startConferenceOnEnter: command.startOnEnter,
          endConferenceOnExit: command.endOnExit,
          joinMuted: command.muted,
          maxParticipants: command.maxParticipants,
          actionHook: hooks.url(JambonzHook.Conference),
        }),
      ];
    case 'conferenceHold':
    case 'conferenceUnhold':
      throw liveControlOnly(command.op);
  }
}

function liveControlOnly(op: string): CarrierError {
  return new CarrierError(
    `jambonz ${op} acts on the running verb, so it is a Live Call Control request, not a verb: use liveControlForCommand`,
    ErrorType.InvalidCommand,
    false,
    { provider: 'jambonz', operation: op },
  );
}

/** The `customerData` key that names the session owning a call (see `ownerWorkflowIdOf` in events). */
export const OWNER_TAG_KEY = 'ownerWorkflowId';

export function ownerTag(ownerWorkflowId: string): Record<string, string> {
  return { [OWNER_TAG_KEY]: ownerWorkflowId };
}

/**
 * jambonz gathers until `numDigits`/`maxDigits`, `finishOnKey`, the inter-digit timeout (counted once
 * `minDigits` are in) or `timeout` after the prompt. It cannot restrict which digits are valid, so
 * `validDigits` is left to the session, which sees the digits in `gather.ended`.
 */
function gatherForCommand(options: GatherOptions, hooks: OperationHooks): GatherVerb {
  const minDigits = options.minDigits ?? GATHER_DEFAULTS.minDigits;
  const maxDigits = options.maxDigits ?? GATHER_DEFAULTS.maxDigits;
  return gatherVerb({
    input: ['digits'],
    minDigits,
    maxDigits,
    timeout: (options.timeoutMs ?? GATHER_DEFAULTS.timeoutMs) / 1000,
    interDigitTimeout: (options.interDigitTimeoutMs ?? GATHER_DEFAULTS.interDigitTimeoutMs) / 1000,
    finishOnKey: options.terminator ?? GATHER_DEFAULTS.terminator,
    prompt: options.prompt,
    actionHook: hooks.url(JambonzHook.Gather),
  });
}

/**
 * A recording is a `listen` stream to our recording socket, which stores the audio. `silenceSeconds` and
 * `format` have no jambonz equivalent: the socket decides the file format, and the stream ends at
 * `maxSeconds`, on hangup, or when the session stops it.
 */
function listenForRecording(options: RecordOptions, hooks: OperationHooks): ListenVerb {
  if (hooks.recordingStreamUrl === undefined) {
    throw new CarrierError(
      'jambonz records by streaming audio with `listen`, and no recording WebSocket URL is configured',
      ErrorType.InvalidCommand,
      false,
      { provider: 'jambonz', operation: 'recordStart' },
    );
  }
  return listenVerb({
    url: hooks.recordingStreamUrl,
    mixType: options.channels === 'dual' ? 'stereo' : 'mono',
    maxLength: options.maxSeconds ?? RECORD_DEFAULTS.maxSeconds,
    playBeep: options.beep ?? RECORD_DEFAULTS.beep,
    actionHook: hooks.url(JambonzHook.Listen),
  });
}

/**
 * jambonz streams both directions to one socket (`stereo`: caller on channel 1, us on channel 2), so a fork
 * asking for two different sockets cannot be honoured.
 */
function backgroundStream(rx: string | undefined, tx: string | undefined): BackgroundListen {
  const url = rx ?? tx;
  if (url === undefined || (rx !== undefined && tx !== undefined && rx !== tx)) {
    throw new CarrierError(
      'jambonz forks both audio directions to one WebSocket: give rx or tx, or the same URL for both',
      ErrorType.InvalidCommand,
      false,
      { provider: 'jambonz', operation: 'forkStart' },
    );
  }
  return { enable: true, url, mixType: 'stereo' };
}
