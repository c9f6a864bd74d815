import type { CallCommandBody } from '../../calls/commands';
import { ErrorType } from '../../calls/errors';
import { CarrierError, classifyResponse, type ClassifyInput } from '../errors';
import type { CarrierRequest } from '../types';
import { ownerTag, playVerb, sayVerb, synthesizerFor, type PlayVerb, type SayVerb } from './verbs';
import { JambonzHook, type OperationHooks } from './webhook';

/**
 * Live Call Control: `PUT /Accounts/{AccountSid}/Calls/{CallSid}` (paths here are relative to the API base
 * URL, which ends in `/v1`, e.g. `https://api.jambonz.cloud/v1`). One action per request; jambonz answers
 * 202 before it acts, so success means "accepted": outcomes arrive as webhooks.
 */

/** A hook jambonz fetches; we send only `url` (the method defaults to POST, which carries the payload). */
export interface WebhookRef {
  url: string;
}

/** What `whisper` plays to the leg without breaking its bridge or stream (a URL is no longer accepted). */
export type WhisperPrompt = SayVerb | Omit<PlayVerb, 'actionHook'>;

export type CallStatusUpdate = 'completed' | 'no-answer';
export type ListenStatus = 'pause' | 'silence' | 'resume';
export type MuteStatus = 'mute' | 'unmute';
export type ConferenceHoldStatus = 'hold' | 'unhold';

/** The Live Call Control body, with the properties this adapter sends, named as jambonz names them. */
export interface UpdateCallBody {
  /** Fetch new verbs for the call; they replace its application (`session:redirect`). */
  call_hook?: WebhookRef;
  /** The same for the dialed leg of a running `dial`, which then lives on as its own session. */
  child_call_hook?: WebhookRef;
  /** Only together with `call_hook`. */
  call_status_hook?: WebhookRef;
  /** `completed` hangs up an answered call; `no-answer` rejects an unanswered inbound call or cancels a ringing outbound one. */
  call_status?: CallStatusUpdate;
  /** Pause, silence or resume the audio stream of the running `listen`. */
  listen_status?: ListenStatus;
  /** Mute this leg while it is in a `dial` or `conference`. */
  mute_status?: MuteStatus;
  /** Mute every member of the conference but the moderators. */
  conf_mute_status?: MuteStatus;
  /** Hold this conference member (mute and deafen). */
  conf_hold_status?: ConferenceHoldStatus;
  /** Played in a loop to a held member; only with `conf_hold_status`. */
  wait_hook?: string;
  whisper?: WhisperPrompt | WhisperPrompt[];
  /** Replaces `customerData`. */
  tag?: Record<string, unknown>;
  /** Send DTMF as SIP INFO on an answered call (not in the stale swagger; research/jambonz.md §1.1). */
  dtmf?: { digit: string; duration?: number };
}

type UpdateCallProperty = keyof UpdateCallBody;

/**
 * Properties jambonz counts as the request's action (api-server `validateUpdateCall`; it also counts
 * transcribe_status, sip_request, record, dtmf, conferenceParticipantAction, dub, boostAudioSignal and
 * media_path, which this adapter does not send).
 */
const ACTIONS: readonly UpdateCallProperty[] = [
  'call_hook',
  'child_call_hook',
  'call_status',
  'listen_status',
  'mute_status',
  'conf_mute_status',
  'conf_hold_status',
  'tag',
  'dtmf',
];
/** Properties that only qualify an action. */
const COMPANIONS: readonly UpdateCallProperty[] = ['call_status_hook', 'wait_hook', 'whisper'];
/** The actions a whisper can ride along with; next to a hangup or redirect jambonz would drop it. */
const WHISPER_PARTNERS: readonly UpdateCallProperty[] = ['listen_status', 'mute_status'];

const ALLOWED_VALUES: Partial<Record<UpdateCallProperty, readonly string[]>> = {
  call_status: ['completed', 'no-answer'],
  listen_status: ['pause', 'silence', 'resume'],
  mute_status: ['mute', 'unmute'],
  conf_mute_status: ['mute', 'unmute'],
  conf_hold_status: ['hold', 'unhold'],
};

/** A Live Call Control body that breaks one of jambonz's rules; refused before it is sent. */
export class InvalidUpdateCallError extends CarrierError {
  override readonly name = 'InvalidUpdateCallError';
  constructor(message: string) {
    super(`jambonz updateCall: ${message}`, ErrorType.InvalidCommand, false, {
      provider: 'jambonz',
      operation: 'updateCall',
    });
  }
}

/**
 * Enforces jambonz's combination rules, which it would otherwise answer with 400 (or silently ignore):
 * exactly one action per request, except `call_hook` with `child_call_hook`; `call_status_hook` only with
 * `call_hook`; `wait_hook` only with `conf_hold_status`; `whisper` alone or with `listen_status` or
 * `mute_status`; enum values as jambonz lists them.
 */
export function validateUpdateCall(body: UpdateCallBody): void {
  const present = (Object.keys(body) as UpdateCallProperty[]).filter((key) => body[key] !== undefined);

  const unknown = present.filter((key) => !ACTIONS.includes(key) && !COMPANIONS.includes(key));
  if (unknown.length > 0) {
    throw new InvalidUpdateCallError(`unknown ${unknown.length === 1 ? 'property' : 'properties'} ${list(unknown)}`);
  }

  for (const key of present) {
    const allowed = ALLOWED_VALUES[key];
    if (allowed && !allowed.includes(body[key] as string)) {
      throw new InvalidUpdateCallError(`${key} must be one of ${list(allowed)}, not ${JSON.stringify(body[key])}`);
    }
  }

  const actions = present.filter((key) => ACTIONS.includes(key));
  if (actions.length === 0 && body.whisper === undefined) {
    throw new InvalidUpdateCallError(
      `no action: send exactly one of ${list(ACTIONS)}, or a whisper (jambonz answers 400 "no valid options supplied to updateCall")`,
    );
  }
  const redirectsBothLegs =
    actions.length === 2 && actions.includes('call_hook') && actions.includes('child_call_hook');
  if (actions.length > 1 && !redirectsBothLegs) {
    throw new InvalidUpdateCallError(
      `one action per request, got ${list(actions)}; only call_hook may pair with child_call_hook ` +
        '(jambonz answers 400 "multiple options are not allowed in updateCall")',
    );
  }

  if (body.call_status_hook !== undefined && body.call_hook === undefined) {
    throw new InvalidUpdateCallError('call_status_hook is accepted only together with call_hook (jambonz answers 400)');
  }
  if (body.wait_hook !== undefined && body.conf_hold_status === undefined) {
    throw new InvalidUpdateCallError('wait_hook only qualifies conf_hold_status');
  }
  if (body.whisper !== undefined) {
    const partner = actions.find((key) => !WHISPER_PARTNERS.includes(key));
    if (partner !== undefined) {
      throw new InvalidUpdateCallError(
        `whisper goes alone or with ${list(WHISPER_PARTNERS)}; next to ${partner} jambonz would not play it`,
      );
    }
    const prompts = Array.isArray(body.whisper) ? body.whisper : [body.whisper];
    if (prompts.length === 0 || prompts.some((prompt) => prompt.verb !== 'say' && prompt.verb !== 'play')) {
      throw new InvalidUpdateCallError('whisper must be one or more say or play verbs');
    }
  }

  for (const key of ['call_hook', 'child_call_hook', 'call_status_hook'] as const) {
    const hook = body[key];
    if (hook !== undefined && !isAbsoluteUrl(hook.url)) {
      throw new InvalidUpdateCallError(`${key}.url must be an absolute URL, not ${JSON.stringify(hook.url)}`);
    }
  }
}

function isAbsoluteUrl(value: string): boolean {
  return /^(https?|wss?):\/\/\S+$/.test(value);
}

function list(items: readonly string[]): string {
  return items.join(', ');
}

/** Fetch new verbs for the call from `callHook` (optionally for its dialed leg and with a new status hook). */
export function redirectCall(
  callHook: string,
  options: { childCallHook?: string; callStatusHook?: string } = {},
): UpdateCallBody {
  return {
    call_hook: { url: callHook },
    ...(options.childCallHook !== undefined && { child_call_hook: { url: options.childCallHook } }),
    ...(options.callStatusHook !== undefined && { call_status_hook: { url: options.callStatusHook } }),
  };
}

/** Give the dialed leg of the running `dial` its own verbs; the calling leg's dial ends. */
export function redirectChildCall(childCallHook: string): UpdateCallBody {
  return { child_call_hook: { url: childCallHook } };
}

/** Hang up an answered call (jambonz answers 422 while it is still ringing). */
export function hangupCall(): UpdateCallBody {
  return { call_status: 'completed' };
}

/** Reject an unanswered inbound call (503) or cancel a ringing outbound one (jambonz answers 422 once answered). */
export function cancelUnansweredCall(): UpdateCallBody {
  return { call_status: 'no-answer' };
}

export function muteCall(status: MuteStatus): UpdateCallBody {
  return { mute_status: status };
}

export function setListenStatus(status: ListenStatus): UpdateCallBody {
  return { listen_status: status };
}

export function holdConferenceMember(status: ConferenceHoldStatus, waitHook?: string): UpdateCallBody {
  return { conf_hold_status: status, ...(waitHook !== undefined && { wait_hook: waitHook }) };
}

export function muteConference(status: MuteStatus): UpdateCallBody {
  return { conf_mute_status: status };
}

/** Spread it into a `muteCall` or `setListenStatus` body to whisper while changing that, or send it alone. */
export function whisper(prompt: WhisperPrompt | WhisperPrompt[]): UpdateCallBody {
  return { whisper: prompt };
}

/** Send DTMF digits to the far end (SIP INFO). */
export function sendDtmf(digits: string): UpdateCallBody {
  return { dtmf: { digit: digits } };
}

export function tagCall(data: Record<string, unknown>): UpdateCallBody {
  return { tag: data };
}

/** The request for a Live Call Control body; refuses a body that breaks jambonz's rules before sending it. */
export function updateCallRequest(accountSid: string, callSid: string, body: UpdateCallBody): CarrierRequest {
  validateUpdateCall(body);
  const actions = (Object.keys(body) as UpdateCallProperty[]).filter((key) => ACTIONS.includes(key));
  return {
    method: 'PUT',
    path: `/Accounts/${encodeURIComponent(accountSid)}/Calls/${encodeURIComponent(callSid)}`,
    body,
    operation: `updateCall ${actions.length > 0 ? list(actions) : 'whisper'}`,
  };
}

/**
 * The Live Call Control body for a neutral command that acts on the running verb, or `undefined` when the
 * command is carried out by verbs in the next document (`mapCommandToVerbs`). A redirect kills the running
 * verb and fetches the next document from the session; its hook tells the session what was interrupted.
 */
export function liveControlForCommand(command: CallCommandBody, hooks: OperationHooks): UpdateCallBody | undefined {
  switch (command.op) {
    case 'hangup':
      return hangupCall();
    case 'reject':
      return cancelUnansweredCall();
    case 'stopPlayback':
      return redirectCall(hooks.url(JambonzHook.PlaybackStopped));
    case 'stopGather':
      return redirectCall(hooks.url(JambonzHook.GatherStopped));
    case 'recordStop':
    case 'redirect':
      // recordStop: the killed `listen` still sends its actionHook, which reports the recording.
      return redirectCall(hooks.url(JambonzHook.Next));
    case 'recordPause':
      return setListenStatus('pause');
    case 'recordResume':
      return setListenStatus('resume');
    case 'clientStateUpdate':
      return tagCall(ownerTag(hooks.ownerWorkflowId));
    // Flows send these as verbs; as commands they are live controls on a running call (JAMBONZ_CONTROLS).
    case 'say': {
      const synthesizer = synthesizerFor(command.voice, command.language);
      return whisper(sayVerb({ text: command.text, ...(synthesizer ? { synthesizer } : {}) }));
    }
    case 'play':
      return whisper(playVerb({ url: command.url }));
    case 'sendDtmf':
      return sendDtmf(command.digits);
    case 'mute':
      return muteCall('mute');
    case 'unmute':
      return muteCall('unmute');
    // supervisors and warm transfers, in the room the call was moved into:
    case 'moveToConference':
      // The agent leaves the dial for the room; the caller, told nothing, has its dial killed and fetches its
      // next verbs from the dial's actionHook (the session answers with the room).
      return redirectChildCall(hooks.memberUrl(command.room, command.as ?? 'agent'));
    case 'rejoinConference':
      // A warm transfer hands the room's end from one member to another: the member rejoins in its new part.
      return redirectCall(hooks.memberUrl(command.room, command.as));
    case 'switchSupervisorRole':
      // The supervisor rejoins the room in its new role: conferenceParticipantAction changes one thing per request
      // (mute, coach), so monitor → whisper would take two; a rejoin takes one, at the cost of a moment outside.
      return command.room ? redirectCall(hooks.memberUrl(command.room, command.role)) : undefined;
    // conferences:
    case 'conferenceHold':
      return holdConferenceMember('hold');
    case 'conferenceUnhold':
      return holdConferenceMember('unhold');
    default:
      return undefined;
  }
}

/** `Authorization` for the jambonz REST API: an account API key as a bearer token. */
export function jambonzAuthHeaders(apiKey: string): { authorization: string } {
  return { authorization: `Bearer ${apiKey}` };
}

export type JambonzResponse = Omit<ClassifyInput, 'provider' | 'goneCodes' | 'goneStatuses'>;

/**
 * Classifies a Live Call Control (or other call-resource) response: 2xx success (202, and 200 for
 * sip_request); 404 (no call record) and 422 (session gone, or call_status does not fit the call's state)
 * are `CallGone`; 400 is a refused request; 480 (no feature server) and 5xx are retryable.
 */
export function classifyJambonzResponse(response: JambonzResponse): CarrierError | undefined {
  if (response.status === 400) return invalidRequest(response);
  if (response.status === 480) return noFeatureServer(response);
  return classifyResponse({ ...response, provider: 'jambonz', goneStatuses: [404, 422] });
}

/** jambonz's `{msg}` explains a 400; keep it in the message, where logs and the Temporal UI show it. */
export function invalidRequest(response: JambonzResponse): CarrierError {
  const msg = messageOf(response.body);
  return new CarrierError(
    `jambonz refused ${response.operation} as invalid (HTTP 400${msg ? `: ${msg}` : ''})`,
    ErrorType.CarrierRejected,
    false,
    { provider: 'jambonz', operation: response.operation, status: 400, detail: msg },
  );
}

/** 480: no feature server took the request, so nothing happened and a retry is safe. */
export function noFeatureServer(response: JambonzResponse): CarrierError {
  return new CarrierError(
    `jambonz ${response.operation}: no feature server available (HTTP 480)`,
    ErrorType.CarrierUnavailable,
    true,
    { provider: 'jambonz', operation: response.operation, status: 480, detail: messageOf(response.body) },
  );
}

function messageOf(body: unknown): string | undefined {
  return typeof body === 'object' && body !== null && typeof (body as { msg?: unknown }).msg === 'string'
    ? (body as { msg: string }).msg
    : undefined;
}
