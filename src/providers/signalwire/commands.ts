import type { SupervisorRole } from '../../calls/supervisor';
import { ErrorType, type CallCommand, type PlaceCallRequest, type PlacedCall } from '../../calls';
import { isMediaCommand } from '../../calls/media';
import { CarrierError, classifyResponse } from '../errors';
import { documentOnly, unsupported } from '../ops';
import type { CarrierRequest } from '../types';
import { gatherSettings, recordSettings } from './defaults';
import {
  connectMethod,
  detectMachineMethod,
  handBackMethod,
  hangupDocument,
  hangupMethod,
  roomMemberSwml,
  swmlDocument,
  type SwmlDocument,
} from './documents';
import { signalwireMediaRequest } from './media';
import { SIGNALWIRE_NO_CONFERENCE, SIGNALWIRE_NO_LEG_MUTE, SIGNALWIRE_NO_SUPERVISOR } from './ops';
import { assertUpdateAllowed, legStatusFromWire, type CallUpdate, type LegStatus } from './update-rules';
import { documentUrl, statusCallbackUrl, type CallbackConfig } from './webhook';

/**
 * Requests for the SignalWire Calling API: one endpoint, `POST /api/calling/calls`, every body
 * `{command, id, params}` (`dial` has no `id`; `update` carries it as `params.id`). Wire fields keep
 * SignalWire's snake_case. Every operation we start gets `control_id` = the flow operation's command key
 * (stable across activity retries) and a `status_url` naming the owning session.
 */

export const CALLS_PATH = '/api/calling/calls';

/** Statuses that mean "this call no longer exists" for commands on a call (not for `dial`). */
export const SIGNALWIRE_GONE_STATUSES = [404, 422] as const;

export type AudioDirection = 'listen' | 'speak' | 'both';
export type TtsGender = 'male' | 'female';

export type PlayItem =
  | { type: 'audio'; params: { url: string } }
  | { type: 'tts'; params: { text: string; language?: string; gender?: TtsGender; voice?: string } }
  | { type: 'silence'; params: { duration: number } }
  /** `name`: a two-letter country code (or `bong`) selecting the ring cadence. */
  | { type: 'ringtone'; params: { name: string; duration?: number } };

export interface ControlParams {
  control_id: string;
}

export interface PlayParams extends ControlParams {
  play: PlayItem[];
  /** dB, -40..40. */
  volume?: number;
  direction?: AudioDirection;
  /** 0 plays forever; N plays N times in all. */
  loop?: number;
  language?: string;
  voice?: string;
  gender?: TtsGender;
  status_url?: string;
}

export interface CollectDigits {
  max: number;
  terminators?: string;
  digit_timeout?: number;
}

export interface CollectSpeech {
  end_silence_timeout?: number;
  speech_timeout?: number;
  language?: string;
  hints?: string[];
  model?: string;
  engine?: 'Google' | 'Google.V2' | 'Deepgram';
}

/** SignalWire answers 400 to a collect with neither digits nor speech, so the type requires one. */
export type CollectParams = ControlParams & {
  initial_timeout?: number;
  continuous?: boolean;
  partial_results?: boolean;
  send_start_of_input?: boolean;
  /** When false, the initial timeout waits for `calling.collect.start_input_timers`. */
  start_input_timers?: boolean;
  status_url?: string;
} & ({ digits: CollectDigits; speech?: CollectSpeech } | { digits?: CollectDigits; speech: CollectSpeech });

export interface RecordAudio {
  beep?: boolean;
  format?: 'mp3' | 'wav' | 'mp4';
  stereo?: boolean;
  direction?: AudioDirection;
  initial_timeout?: number;
  end_silence_timeout?: number;
  /** Seconds; 0 means no limit. */
  max_length?: number;
  terminators?: string;
  input_sensitivity?: number;
}

export interface RecordParams extends ControlParams {
  record: { audio: RecordAudio };
  status_url?: string;
}

export type DetectConfig =
  | {
      type: 'machine';
      params?: {
        initial_timeout?: number;
        end_silence_timeout?: number;
        machine_ready_timeout?: number;
        machine_voice_threshold?: number;
        machine_words_threshold?: number;
        detect_interruptions?: boolean;
        detect_message_end?: boolean;
      };
    }
  | { type: 'fax'; params?: { tone?: 'CNG' | 'CED' } }
  | { type: 'digit'; params?: { digits?: string } };

export interface DetectParams extends ControlParams {
  detect: DetectConfig;
  /** Seconds the detector may run. */
  timeout?: number;
  status_url?: string;
}

export type TapCodec = 'PCMU' | 'PCMA' | 'OPUS';

export type TapDevice =
  | { type: 'rtp'; params: { addr: string; port: number; codec?: TapCodec; ptime?: number } }
  | { type: 'ws'; params: { uri: string; codec?: TapCodec } };

export interface TapParams extends ControlParams {
  tap: { type: 'audio'; params: { direction: AudioDirection } };
  device: TapDevice;
  status_url?: string;
}

export interface StreamParams extends ControlParams {
  /** `wss://` only. */
  url: string;
  name?: string;
  codec?: string;
  track?: 'inbound_track' | 'outbound_track' | 'both_tracks';
  authorization_bearer_token?: string;
  custom_parameters?: Record<string, unknown>;
  status_url?: string;
  status_url_method?: 'GET' | 'POST';
}

export interface ReferParams {
  device: { type: 'sip'; params: { to: string; from?: string; username?: string; password?: string } };
  status_url?: string;
}

export type HangupReason = 'hangup' | 'cancel' | 'busy' | 'noAnswer' | 'decline' | 'error';

type NoParams = Record<string, never>;

/** The `params` of every `calling.*` command a flow can use, by command name. */
export interface CallingParams {
  'calling.play': PlayParams;
  'calling.play.pause': ControlParams;
  'calling.play.resume': ControlParams;
  'calling.play.stop': ControlParams;
  'calling.play.volume': ControlParams & { volume: number };
  'calling.collect': CollectParams;
  'calling.collect.stop': ControlParams;
  'calling.collect.start_input_timers': ControlParams;
  'calling.record': RecordParams;
  'calling.record.pause': ControlParams & { behavior?: 'skip' | 'silence' };
  'calling.record.resume': ControlParams;
  'calling.record.stop': ControlParams;
  'calling.detect': DetectParams;
  'calling.detect.stop': ControlParams;
  'calling.tap': TapParams;
  'calling.tap.stop': ControlParams;
  'calling.stream': StreamParams;
  'calling.stream.stop': ControlParams;
  'calling.denoise': NoParams;
  'calling.denoise.stop': NoParams;
  /** A SIP URI, phone number, SWML URL, or an inline document. */
  'calling.transfer': { dest: string | SwmlDocument };
  'calling.refer': ReferParams;
  'calling.end': { reason?: HangupReason };
  'calling.disconnect': NoParams;
  'calling.user_event': { event: Record<string, unknown> };
  /** Fax control ids are SignalWire's (SWML starts faxes): take them from the fax's callbacks. */
  'calling.send_fax.stop': ControlParams;
  'calling.receive_fax.stop': ControlParams;
}
export type CallingCommand = keyof CallingParams;

/** A `calling.*` command on an existing call. */
export function callingRequest<C extends CallingCommand>(
  command: C,
  callId: string,
  params: CallingParams[C],
): CarrierRequest {
  return { method: 'POST', path: CALLS_PATH, operation: command, body: { command, id: callId, params } };
}

export type StatusEvent = 'created' | 'ringing' | 'answered' | 'ended';

interface DialBase {
  from: string;
  to: string;
  caller_id?: string;
  fallback_url?: string;
  status_url?: string;
  status_events?: StatusEvent[];
  url_method?: 'GET' | 'POST';
  codecs?: string[] | string;
  /** Ring timeout, 1..600 s. */
  timeout?: number;
  max_price_per_minute?: number;
  send_digits?: string;
  region?: string | string[];
  /** At most 20; they reach SWML as `${envs.<key>}` and the document fetch as `envs`. */
  custom_variables?: Record<string, string>;
  username?: string;
  password?: string;
}

/** Where the answered call gets its instructions: a document URL, or an inline document. */
export type DialParams = DialBase & ({ url: string } | { swml: SwmlDocument });

/** Places a call. SignalWire has no idempotency key for `dial`: a retry may place a second call. */
export function dialRequest(params: DialParams): CarrierRequest {
  return { method: 'POST', path: CALLS_PATH, operation: 'dial', body: { command: 'dial', params } };
}

/**
 * An `update`, refused before sending when the rules in update-rules.ts forbid it in `currentStatus`.
 *
 * Status-only updates: the prose describes `{id, status}`, but both `update` variants in the spec
 * require `url` or `swml`, and what the server accepts is unconfirmed. We send the status together with a
 * one-step `hangup` document, so the body validates and either reading ends the call. That fits
 * `completed` (answered: both the status and a redirect are allowed); for `canceled` the redirect rule
 * could make SignalWire refuse it, so hanging up an unanswered leg goes through `calling.end` with
 * `reason: "cancel"` instead.
 */
export function updateRequest(
  callId: string,
  update: CallUpdate,
  currentStatus: LegStatus,
  options: { status_url?: string; fallback_url?: string } = {},
): CarrierRequest {
  assertUpdateAllowed(update, currentStatus);
  const change = 'status' in update ? { status: update.status, swml: hangupDocument() } : update;
  return {
    method: 'POST',
    path: CALLS_PATH,
    operation: 'update',
    body: { command: 'update', params: { id: callId, ...change, ...options } },
  };
}

/** `Authorization` header value: Basic with the project id as user and the API token as password. */
export function signalwireAuthorization(projectId: string, apiToken: string): string {
  return `Basic ${Buffer.from(`${projectId}:${apiToken}`, 'utf8').toString('base64')}`;
}

/**
 * Classifies a Calling API response. 404 and 422 on a command for an existing call mean the call is gone;
 * on `dial` no call exists yet, so a 422 there is a plain validation error.
 */
export function classifySignalWireResponse(input: {
  operation: string;
  status: number;
  body?: unknown;
  headers?: Record<string, string | string[] | undefined>;
}) {
  return classifyResponse({
    provider: 'signalwire',
    ...input,
    goneStatuses: input.operation === 'dial' ? [] : SIGNALWIRE_GONE_STATUSES,
  });
}

export interface CommandContext {
  callbacks: CallbackConfig;
  /**
   * The control_id of the running operation a stop, pause or resume acts on: SignalWire has no "stop
   * whatever is playing". Overrides the command's own `target` (the session's command key of that operation).
   */
  targetControlId?: string;
}

function invalidCommand(operation: string, detail: string): CarrierError {
  return new CarrierError(`signalwire ${operation}: ${detail}`, ErrorType.InvalidCommand, false, {
    provider: 'signalwire',
    operation,
    detail,
  });
}

const IPV4_PORT = /^(?:udp:|rtp:\/\/)?(\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})$/i;

/** A fork target as a tap device: `ws(s)://...`, or `udp:<ipv4>:<port>` / `rtp://<ipv4>:<port>` for RTP. */
function tapDevice(target: string): TapDevice | undefined {
  if (/^wss?:\/\//i.test(target)) return { type: 'ws', params: { uri: target } };
  const rtp = IPV4_PORT.exec(target);
  return rtp ? { type: 'rtp', params: { addr: rtp[1], port: Number(rtp[2]) } } : undefined;
}

function tapParams(command: Extract<CallCommand, { op: 'forkStart' }>, status_url: string): TapParams {
  const { rx, tx } = command;
  if (rx && tx && rx !== tx) throw invalidCommand('calling.tap', 'SignalWire taps to one target; rx and tx differ');
  const target = rx ?? tx;
  const device = target ? tapDevice(target) : undefined;
  if (!device)
    throw invalidCommand(
      'calling.tap',
      `fork target "${target ?? ''}" is not ws(s)://, udp:<ip>:<port> or rtp://<ip>:<port>`,
    );
  // rx is what the carrier receives from the caller (SignalWire "speak"); tx what it sends to them ("listen").
  const direction: AudioDirection = rx && tx ? 'both' : rx ? 'speak' : 'listen';
  return { control_id: command.commandKey, tap: { type: 'audio', params: { direction } }, device, status_url };
}

/**
 * A flow operation as a Calling API request. Throws an `InvalidCommand` error for operations SignalWire
 * takes only as documents, `Unsupported` for operations it cannot do, and an `InvalidCommand` error for a stop,
 * pause or resume without `targetControlId`.
 */
export function signalwireCommandRequest(command: CallCommand, context: CommandContext): CarrierRequest {
  const { callId, commandKey: control_id } = command;
  const status_url = statusCallbackUrl(
    context.callbacks.publicBaseUrl,
    context.callbacks.secret,
    command.ownerWorkflowId,
  );
  const target = (operation: CallingCommand): ControlParams => {
    const controlId = context.targetControlId ?? ('target' in command ? command.target : undefined);
    if (!controlId) {
      throw invalidCommand(
        operation,
        `${command.op} needs the control_id of the operation it acts on (an operation run as a SWML document step has none of ours)`,
      );
    }
    return { control_id: controlId };
  };
  if (isMediaCommand(command)) return signalwireMediaRequest(command, { control_id, status_url, target });
  switch (command.op) {
    case 'hangup':
      return callingRequest('calling.end', callId, { reason: 'hangup' });
    case 'reject':
      return callingRequest('calling.end', callId, { reason: command.reason === 'busy' ? 'busy' : 'decline' });
    case 'play':
      return callingRequest('calling.play', callId, {
        control_id,
        play: [{ type: 'audio', params: { url: command.url } }],
        ...(command.loop === undefined ? {} : { loop: command.loop }),
        status_url,
      });
    case 'say':
      return callingRequest('calling.play', callId, {
        control_id,
        play: [
          {
            type: 'tts',
            params: {
              text: command.text,
              ...(command.voice ? { voice: command.voice } : {}),
              ...(command.language ? { language: command.language } : {}),
            },
          },
        ],
        status_url,
      });
    case 'stopPlayback':
      return callingRequest('calling.play.stop', callId, target('calling.play.stop'));
    case 'gather': {
      if (command.prompt) throw documentOnly('signalwire', 'gather with a prompt');
      const { max_digits, terminators, digit_timeout, initial_timeout } = gatherSettings(command);
      return callingRequest('calling.collect', callId, {
        control_id,
        digits: { max: max_digits, terminators, digit_timeout },
        initial_timeout,
        start_input_timers: true,
        status_url,
      });
    }
    case 'stopGather':
      return callingRequest('calling.collect.stop', callId, target('calling.collect.stop'));
    case 'recordStart': {
      const settings = recordSettings(command);
      return callingRequest('calling.record', callId, {
        control_id,
        record: { audio: { ...settings, direction: settings.stereo ? 'both' : 'speak' } },
        status_url,
      });
    }
    case 'recordStop':
      return callingRequest('calling.record.stop', callId, target('calling.record.stop'));
    case 'recordPause':
      return callingRequest('calling.record.pause', callId, target('calling.record.pause'));
    case 'recordResume':
      return callingRequest('calling.record.resume', callId, target('calling.record.resume'));
    case 'transfer':
      // The call leaves the flow: it rings the target and hangs up when that bridge ends.
      return callingRequest('calling.transfer', callId, {
        dest: swmlDocument([
          connectMethod({ to: command.to, from: command.from, timeoutSeconds: command.timeoutSeconds }),
          hangupMethod(),
        ]),
      });
    case 'forkStart':
      return callingRequest('calling.tap', callId, tapParams(command, status_url));
    case 'forkStop':
      return callingRequest('calling.tap.stop', callId, target('calling.tap.stop'));
    case 'redirect': {
      // Only an answered call can be redirected (update rules); the session redirects only answered calls.
      // The redirect's key rides in the URL so each redirect's fetch differs from every other fetch of the
      // call (the gateway names a fetch by its URL and bytes; only a carrier retry may repeat one).
      const url = new URL(
        documentUrl(context.callbacks.publicBaseUrl, context.callbacks.secret, command.ownerWorkflowId),
      );
      url.searchParams.set('redirect', control_id);
      return updateRequest(callId, { url: url.toString() }, 'answered');
    }
    case 'answer':
    case 'bridge':
    case 'connect':
    case 'joinConference':
    case 'sendDtmf':
    case 'sendFax':
    case 'receiveFax':
      // No REST form: these exist only as SWML methods.
      throw documentOnly('signalwire', command.op);
    case 'enqueue':
    case 'leaveQueue':
    case 'clientStateUpdate':
      throw unsupported('signalwire', command.op);
    case 'mute':
    case 'unmute':
      throw unsupported('signalwire', command.op, SIGNALWIRE_NO_LEG_MUTE);
    // supervisor controls, in the room the call was moved into (workflows/session.ts):
    case 'moveToConference':
      // The agent leaves the caller's connect for the room; the caller's connect returns, and its hand-back
      // fetches the room from the session.
      if (!command.otherCallId) throw unsupported('signalwire', command.op, SIGNALWIRE_NO_SUPERVISOR);
      return updateRequest(
        command.otherCallId,
        { swml: roomMemberSwml(command.room, command.as ?? 'agent') },
        'answered',
      );
    case 'rejoinConference':
      // A warm transfer hands the room's end from one member to another: the member rejoins in its new part.
      return updateRequest(
        command.callId,
        { swml: roomMemberSwml(command.room, command.as, command.agentCallId) },
        'answered',
      );
    case 'switchSupervisorRole':
      // SWML has no change of a member's role: the supervisor rejoins the room in the new one.
      if (!command.room) throw unsupported('signalwire', command.op, SIGNALWIRE_NO_SUPERVISOR);
      return updateRequest(
        command.callId,
        { swml: supervisorDocument(command.op, command.room, command.role, command.agentCallId) },
        'answered',
      );
    // conferences:
    case 'conferenceHold':
    case 'conferenceUnhold':
      throw unsupported('signalwire', command.op, SIGNALWIRE_NO_CONFERENCE);
  }
}

/**
 * Dials an outbound leg. The answered call fetches its first document from the session's document URL;
 * with machine detection it first starts `detect_machine` beside the rest of the call (results reach the
 * status URL) and then fetches.
 */
export function signalwirePlaceCallRequest(request: PlaceCallRequest, callbacks: CallbackConfig): CarrierRequest {
  const { supervise } = request;
  if (supervise && !supervise.room) throw unsupported('signalwire', 'a supervisor leg', SIGNALWIRE_NO_SUPERVISOR);
  const timeout = request.timeoutSeconds ?? 30;
  if (!Number.isInteger(timeout) || timeout < 1 || timeout > 600) {
    throw invalidCommand('dial', `timeoutSeconds must be a whole number from 1 to 600, got ${timeout}`);
  }
  const session = documentUrl(callbacks.publicBaseUrl, callbacks.secret, request.ownerWorkflowId);
  const status_url = statusCallbackUrl(callbacks.publicBaseUrl, callbacks.secret, request.ownerWorkflowId);
  const base: DialBase = {
    from: request.from,
    to: request.to,
    timeout,
    status_url,
    status_events: ['created', 'ringing', 'answered', 'ended'],
  };
  // A supervisor or a consulted party joins the room the call was moved into with a document of its own (the
  // session's status URL still hears it answer and end).
  if (supervise?.room)
    return dialRequest({ ...base, swml: supervisorDocument('dial', supervise.room, supervise.role, supervise.callId) });
  if (request.joinRoom)
    return dialRequest({ ...base, swml: roomMemberSwml(request.joinRoom.room, request.joinRoom.as) });
  return dialRequest(
    request.detectMachine
      ? { ...base, swml: swmlDocument([detectMachineMethod(status_url), handBackMethod(session)]) }
      : { ...base, url: session },
  );
}

/** A supervisor's room document; a whisper coaches the agent's call, so without its id it is refused. */
function supervisorDocument(
  operation: string,
  room: string,
  role: SupervisorRole,
  agentCallId: string | undefined,
): SwmlDocument {
  if (role === 'whisper' && !agentCallId)
    throw invalidCommand(operation, "a whisper coaches the agent's call, and the session names none");
  return roomMemberSwml(room, role, agentCallId);
}

/** The new leg's id from a `dial` response (a `CallLeg`). */
export function signalwirePlacedCall(responseBody: unknown): PlacedCall {
  const id = (responseBody as { id?: unknown } | null)?.id;
  if (typeof id !== 'string' || id === '') {
    // The call may exist even so: never retry a dial on this.
    throw new CarrierError('signalwire dial: response has no call id', ErrorType.CarrierRejected, false, {
      provider: 'signalwire',
      operation: 'dial',
      detail: 'response has no call id',
    });
  }
  return { callId: id };
}

/**
 * The Calling API has no GET for a call; the voice log is the closest read of a leg's status. Whether
 * it reflects a live call without delay is unconfirmed.
 */
export function signalwireCallStatusRequest(callId: string): CarrierRequest {
  return { method: 'GET', path: `/api/voice/logs/${encodeURIComponent(callId)}`, operation: 'voice log' };
}

export function signalwireCallIsAlive(responseBody: unknown): boolean {
  const status = (responseBody as { status?: unknown } | null)?.status;
  const leg = typeof status === 'string' ? legStatusFromWire(status) : undefined;
  return leg === 'queued' || leg === 'ringing' || leg === 'answered';
}
