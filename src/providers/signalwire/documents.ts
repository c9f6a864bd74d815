import {
  deliveryControlId,
  type CallCommand,
  type CallOp,
  type ConferenceOptions,
  type GatherOptions,
  type Prompt,
  type RecordOptions,
} from '../../calls';
import type { RoomMember } from '../../calls/supervisor';
import { gatherSettings, recordSettings } from './defaults';
import { documentUrl, statusCallbackUrl, type CallbackConfig } from './webhook';

/**
 * SWML documents for the steps SignalWire takes only as documents: answer, play-and-collect (`prompt`),
 * bridge (`connect`), DTMF out, fax send and receive, conferences (`join_conference`); plus foreground
 * `record`, `hangup`, and the holding document.
 *
 * How a call is held while the flow decides, and how later steps reach it. Sources: research notes §2,
 * §6, §7, §10 and the SWML method pages (`transfer`, `prompt`, `record`, `connect`, `send_fax`, `sleep`);
 * [inference] marks what they do not state.
 * - Every document we return, except a hang-up, ends by handing the call back: a `transfer` to the
 *   session's document URL with params `{op, step}`. SignalWire POSTs there with every variable the steps
 *   set (`prompt_value`, `record_url`, `send_fax_result`, ...) in `vars`, so one signed request both reports
 *   the step's outcome (`normaliseDocumentRequest` turns it into events whose control id is the step's
 *   command key) and asks the session for the next document.
 * - When the flow has not decided in time, the gateway answers with `holdingDocument`: ringback as early
 *   media while the call is unanswered (answering is the flow's decision), `sleep` once it is answered,
 *   for a bounded time, then the same hand-back. The loop goes through the gateway rather than staying
 *   inside one document because what SignalWire does when a document runs out is undocumented (it may
 *   hang up), and because an unanswered call cannot be redirected, so coming back is its only way in.
 * - While an answered call sleeps, REST commands (`calling.play`, `calling.collect`, `calling.record`, ...)
 *   act on it [inference: the docs do not say REST commands run beside a running document, but the
 *   Calling API offers no other way to drive a call a document has answered].
 * - A document-only step the flow asks for meanwhile reaches the call through an `update` redirect to the
 *   document URL (allowed only while answered); SignalWire fetches it and the session answers with the
 *   step's document. Before answer, the next hold's hand-back is the only way in, so those holds are short.
 */

/** One SWML method, e.g. `{ answer: {} }`. */
export type SwmlMethod = Record<string, unknown>;

export interface SwmlDocument {
  version: '1.0.0';
  sections: { main: SwmlMethod[] };
}

/** The flow operations that have a SWML form (`SIGNALWIRE_OPS` says which of them travel as documents). */
export const DOCUMENT_OPS = [
  'answer',
  'hangup',
  'reject',
  'say',
  'play',
  'gather',
  'recordStart',
  'bridge',
  'connect',
  'sendDtmf',
  'sendFax',
  'receiveFax',
  'joinConference',
] as const satisfies readonly CallOp[];
export type DocumentOp = (typeof DOCUMENT_OPS)[number];

/**
 * The `params` a hand-back sends to the document URL: which step just finished, or that a hold ran out.
 * A hold names itself (`hold`: an id the gateway picks), so two holds of one call never post identical
 * bodies: the gateway names each fetch by its bytes, and a carrier retry must be the only repeat.
 */
export type HandBackParams = { op: 'hold'; hold?: string } | { op: DocumentOp; step: string };

export function swmlDocument(main: SwmlMethod[]): SwmlDocument {
  return { version: '1.0.0', sections: { main } };
}

/**
 * Hands the call back to the session's document URL; SignalWire POSTs `vars` and these params there.
 * Without params the fetch reports no step (like a fetch after an `update` redirect).
 */
export function handBackMethod(url: string, params?: HandBackParams): SwmlMethod {
  return { transfer: params ? { dest: url, params } : { dest: url } };
}

export function answerMethod(maxDurationSeconds?: number): SwmlMethod {
  return { answer: maxDurationSeconds === undefined ? {} : { max_duration: Math.round(maxDurationSeconds) } };
}

export function hangupMethod(reason?: 'hangup' | 'busy' | 'decline'): SwmlMethod {
  return { hangup: reason ? { reason } : {} };
}

// SWML playable sounds are `say:<text>` strings matched by a single-line pattern.
const say = (text: string) => `say:${text.replace(/\s+/g, ' ').trim()}`;

function playable(prompt: Prompt): { play: string; say_voice?: string; say_language?: string } {
  if ('play' in prompt) return { play: prompt.play };
  return {
    play: say(prompt.say),
    ...(prompt.voice ? { say_voice: prompt.voice } : {}),
    ...(prompt.language ? { say_language: prompt.language } : {}),
  };
}

/** Play-and-collect digits. Without a prompt it plays a moment of silence: SWML `prompt` requires `play`. */
export function promptMethod(gather: GatherOptions): SwmlMethod {
  return {
    prompt: { ...(gather.prompt ? playable(gather.prompt) : { play: 'silence:0.1' }), ...gatherSettings(gather) },
  };
}

/**
 * Foreground recording (a voicemail): the document waits until it ends. SWML `record` has no `both`.
 * With `statusUrl` the recording also reports by status callback: a caller who ends a voicemail by hanging
 * up ends the document too, so no hand-back ever reports that recording.
 */
export function recordMethod(options: RecordOptions, statusUrl?: string): SwmlMethod {
  return {
    record: { ...recordSettings(options), direction: 'speak', ...(statusUrl ? { status_url: statusUrl } : {}) },
  };
}

/** Longest play list a `play` with `loop` expands to: SWML `play` has no loop, so the URL is repeated. */
export const MAX_PLAY_REPEATS = 100;

/** Speaks text (SWML `say:` playable). */
export function sayMethod(text: string, options: { voice?: string; language?: string } = {}): SwmlMethod {
  const { play: url, ...voice } = playable({ say: text, ...options });
  return { play: { url, ...voice } };
}

/**
 * Plays an audio URL `loop` times (0: "forever", which a document step cannot be; it becomes
 * `MAX_PLAY_REPEATS` plays).
 */
export function playMethod(url: string, loop?: number): SwmlMethod {
  const times = loop === undefined ? 1 : loop <= 0 ? MAX_PLAY_REPEATS : Math.min(Math.round(loop), MAX_PLAY_REPEATS);
  return { play: times === 1 ? { url } : { urls: Array.from({ length: times }, () => url) } };
}

/** Answering-machine (and fax) detection that runs beside the rest of the document. */
export function detectMachineMethod(statusUrl: string): SwmlMethod {
  return { detect_machine: { wait: false, status_url: statusUrl } };
}

export interface ConnectOptions {
  /** E.164 number, SIP URI, or `call:<call id>` to bridge an existing leg. */
  to: string;
  from?: string;
  timeoutSeconds?: number;
  /** Receives `calling.call.connect` (connecting / connected / failed / disconnected). */
  statusUrl?: string;
  /** Said to the callee when it answers, before it is connected: `confirm` as inline SWML. */
  whisper?: string;
}

export function connectMethod(options: ConnectOptions): SwmlMethod {
  return {
    connect: {
      to: options.to,
      ...(options.from ? { from: options.from } : {}),
      ...(options.timeoutSeconds === undefined ? {} : { timeout: Math.round(options.timeoutSeconds) }),
      ...(options.statusUrl ? { status_url: options.statusUrl } : {}),
      ...(options.whisper ? { confirm: [sayMethod(options.whisper)] } : {}),
    },
  };
}

export function sendDigitsMethod(digits: string): SwmlMethod {
  return { send_digits: { digits } };
}

export interface SendFaxOptions {
  /** URL of the PDF to send. */
  documentUrl: string;
  headerInfo?: string;
  /** Station identity; SignalWire defaults to the caller's number. */
  identity?: string;
  /** Receives `calling.call.fax` page and finished events. */
  statusUrl?: string;
}

export function sendFaxMethod(options: SendFaxOptions): SwmlMethod {
  return {
    send_fax: {
      document: options.documentUrl,
      ...(options.headerInfo ? { header_info: options.headerInfo } : {}),
      ...(options.identity ? { identity: options.identity } : {}),
      ...(options.statusUrl ? { status_url: options.statusUrl } : {}),
    },
  };
}

export function receiveFaxMethod(statusUrl?: string): SwmlMethod {
  return { receive_fax: statusUrl ? { status_url: statusUrl } : {} };
}

/**
 * Joins the named conference; the method returns when the call has left it (the conference ended under it),
 * setting `join_conference_result`. SWML's `beep` is a string (`"true"`, `"false"`, `onEnter`, `onExit`);
 * the flow's `beep` is on entering only, so `true` is `onEnter`.
 */
export function joinConferenceMethod(name: string, options: ConferenceOptions): SwmlMethod {
  return {
    join_conference: {
      name,
      beep: options.beep ? 'onEnter' : 'false',
      ...(options.muted !== undefined ? { muted: options.muted } : {}),
      ...(options.startOnEnter !== undefined ? { start_on_enter: options.startOnEnter } : {}),
      ...(options.endOnExit !== undefined ? { end_on_exit: options.endOnExit } : {}),
      ...(options.maxParticipants !== undefined ? { max_participants: options.maxParticipants } : {}),
    },
  };
}

/**
 * The document of a call's other room members, for an `update` of the agent's leg or a supervisor's or consulted
 * party's `dial`: join the call's room, then hang up. The agent ends the room when it leaves; a plain member (a
 * consulted party) does not; a supervisor joins muted (`monitor`), coaching the agent's call (`whisper`: heard by
 * it only), or as an equal member (`barge`). A whisper without the agent's call id throws: it would make the
 * supervisor heard by the caller too.
 */
export function roomMemberSwml(room: string, as: RoomMember, agentCallId?: string): SwmlDocument {
  if (as === 'whisper' && !agentCallId) throw new TypeError('a whisper coaches the agent: its call id is needed');
  const parts: Record<RoomMember, object> = {
    agent: { end_on_exit: true },
    member: {},
    monitor: { muted: true },
    whisper: { coach: agentCallId },
    barge: {},
  };
  const how = parts[as];
  return swmlDocument([{ join_conference: { name: room, beep: 'false', ...how } }, hangupMethod('hangup')]);
}

/** A document that only ends the call. */
export function hangupDocument(reason?: 'hangup' | 'busy' | 'decline'): SwmlDocument {
  return swmlDocument([hangupMethod(reason)]);
}

/**
 * Bridging an existing leg by id: connect's `call:` destinations "bridge an existing leg instead of
 * originating one" (connect docs); the exact `call:<call id>` form is [inference].
 */
const bridgeTarget = (otherCallId: string) => `call:${otherCallId}`;

export function hasDocumentForm(command: CallCommand): command is CallCommand & { op: DocumentOp } {
  return (DOCUMENT_OPS as readonly string[]).includes(command.op);
}

/**
 * The document for one flow operation, ending with the hand-back that reports its outcome (a hang-up
 * ends the call instead). Throws for operations that are REST commands only.
 */
export function documentForCommand(command: CallCommand, callbacks: CallbackConfig): SwmlDocument {
  if (!hasDocumentForm(command)) throw new TypeError(`${command.op} has no SWML document form; send it as a command`);
  const { publicBaseUrl, secret } = callbacks;
  const statusUrl = statusCallbackUrl(publicBaseUrl, secret, command.ownerWorkflowId);
  const handBack = handBackMethod(documentUrl(publicBaseUrl, secret, command.ownerWorkflowId), {
    op: command.op,
    // A copy delivered again after a redirect cut it short hands back under its own delivery number.
    step: deliveryControlId(command.commandKey, command.delivery),
  });
  switch (command.op) {
    case 'answer':
      return swmlDocument([answerMethod(), handBack]);
    case 'hangup':
      return hangupDocument('hangup');
    case 'reject':
      return hangupDocument(command.reason === 'busy' ? 'busy' : 'decline');
    case 'say':
      return swmlDocument([sayMethod(command.text, command), handBack]);
    case 'play':
      return swmlDocument([playMethod(command.url, command.loop), handBack]);
    case 'gather':
      return swmlDocument([promptMethod(command), handBack]);
    case 'recordStart':
      return swmlDocument([recordMethod(command, statusUrl), handBack]);
    case 'bridge':
      return swmlDocument([connectMethod({ to: bridgeTarget(command.otherCallId), statusUrl }), handBack]);
    case 'connect':
      return swmlDocument([
        connectMethod({
          to: command.to,
          from: command.from,
          timeoutSeconds: command.timeoutSeconds,
          whisper: command.whisper,
          statusUrl,
        }),
        handBack,
      ]);
    case 'sendDtmf':
      return swmlDocument([sendDigitsMethod(command.digits), handBack]);
    case 'sendFax':
      return swmlDocument([sendFaxMethod({ ...command, statusUrl }), handBack]);
    case 'receiveFax':
      return swmlDocument([receiveFaxMethod(statusUrl), handBack]);
    case 'joinConference':
      return swmlDocument([joinConferenceMethod(command.name, command), handBack]);
  }
}

/**
 * One document for several queued steps (a flow can queue more than one, e.g. from concurrent branches):
 * their methods in order, and one hand-back naming the last step. Steps after one that ends the call are
 * dropped. The hand-back reports only the last step's outcome: earlier steps are done by then, and report
 * what they report through status callbacks (`recordStart`, `bridge`, `connect`, fax) or nothing.
 */
export function documentForCommands(commands: readonly CallCommand[], callbacks: CallbackConfig): SwmlDocument {
  if (commands.length === 0) throw new TypeError('documentForCommands needs at least one command');
  if (commands.length === 1) return documentForCommand(commands[0], callbacks);
  const methods: SwmlMethod[] = [];
  for (const [index, command] of commands.entries()) {
    const steps = documentForCommand(command, callbacks).sections.main;
    const last = index === commands.length - 1;
    const endsCall = command.op === 'hangup' || command.op === 'reject';
    // Every document but a hang-up ends with its hand-back: keep only the last one.
    methods.push(...(last || endsCall ? steps : steps.slice(0, -1)));
    if (endsCall) break;
  }
  return swmlDocument(methods);
}

/**
 * How long a hold lasts before the call comes back for the flow's next step. An answered call can be
 * redirected at any time (`update`), so it can wait longer; an unanswered one can only come back.
 */
export const HOLD_SECONDS = { answered: 30, unanswered: 5 } as const;

export interface HoldOptions {
  /** The session's document URL (`documentUrl`). */
  documentUrl: string;
  /** Names this hold in its hand-back (see `HandBackParams`). */
  holdId?: string;
  answered: boolean;
  seconds?: number;
  /** Ringback cadence (country code) played while unanswered. @default 'us' */
  ringtone?: string;
}

/** The fallback when the flow has not queued its next step in time: wait, then come back. */
export function holdingDocument(options: HoldOptions): SwmlDocument {
  const seconds = options.seconds ?? (options.answered ? HOLD_SECONDS.answered : HOLD_SECONDS.unanswered);
  const wait = options.answered
    ? { sleep: Math.round(seconds * 1000) }
    : { play: { url: `ring:${seconds}:${options.ringtone ?? 'us'}`, auto_answer: false } };
  return swmlDocument([
    wait,
    handBackMethod(options.documentUrl, { op: 'hold', ...(options.holdId ? { hold: options.holdId } : {}) }),
  ]);
}
