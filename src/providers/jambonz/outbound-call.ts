import type { PlaceCallRequest, PlacedCall } from '../../calls/commands';
import { ErrorType } from '../../calls/errors';
import { CarrierError, classifyResponse } from '../errors';
import type { CarrierRequest } from '../types';
import { invalidRequest, noFeatureServer, type JambonzResponse, type WebhookRef } from './live-control';
import { dialTarget, ownerTag, type AnswerMachineDetection, type DialTarget } from './verbs';

/**
 * Outbound calls: `POST /Accounts/{AccountSid}/Calls` (relative to the API base URL, which ends in `/v1`).
 *
 * There is no idempotency key: every request that reaches jambonz may place a call. So the activity must
 * never retry once a request may have arrived (a timeout, a reset connection, a 5xx); it may retry only
 * what jambonz refused before dialing (429, 480). `classifyCreateCallResponse` encodes that.
 */

/** Speech defaults jambonz requires when a call is not placed through a stored application. */
export interface JambonzSpeechDefaults {
  speech_synthesis_vendor: string;
  speech_synthesis_language: string;
  speech_synthesis_voice: string;
  speech_recognizer_vendor: string;
  speech_recognizer_language: string;
}

/**
 * What runs the call once it is answered: a stored application (its hooks and speech defaults), or our own
 * hooks, which carry the owning session in their URL (see `hookUrl`).
 */
export type JambonzCallApplication =
  | { application_sid: string }
  | ({ call_hook: string; call_status_hook: string } & JambonzSpeechDefaults);

export interface CreateCallBody extends Partial<JambonzSpeechDefaults> {
  /** The calling number. */
  from: string;
  to: DialTarget;
  application_sid?: string;
  /** Requested (`session:new`) once the callee answers. */
  call_hook?: WebhookRef;
  /** Ringing, answer, failure, busy, no-answer and completion. */
  call_status_hook?: WebhookRef;
  /** Ring seconds. */
  timeout: number;
  /** Initial `customerData`, echoed in every webhook of the call: names the owning session. */
  tag: Record<string, unknown>;
  amd?: AnswerMachineDetection;
}

const RING_TIMEOUT_SECONDS = 30;

/** The body that places `request`; `amdHook` receives answering-machine detection when it is asked for. */
export function createCallBody(
  request: PlaceCallRequest,
  application: JambonzCallApplication,
  amdHook?: string,
): CreateCallBody {
  if (request.detectMachine && amdHook === undefined) {
    throw new CarrierError(
      'jambonz reports answering-machine detection to an actionHook, and none was given',
      ErrorType.InvalidCommand,
      false,
      { provider: 'jambonz', operation: 'createCall' },
    );
  }
  const app =
    'application_sid' in application
      ? { application_sid: application.application_sid }
      : {
          ...application,
          call_hook: { url: application.call_hook },
          call_status_hook: { url: application.call_status_hook },
        };
  return {
    from: request.from,
    to: dialTarget(request.to),
    ...app,
    timeout: request.timeoutSeconds ?? RING_TIMEOUT_SECONDS,
    tag: ownerTag(request.ownerWorkflowId),
    ...(request.detectMachine && amdHook !== undefined && { amd: { actionHook: amdHook } }),
  };
}

export function createCallRequest(accountSid: string, body: CreateCallBody): CarrierRequest {
  return { method: 'POST', path: `/Accounts/${encodeURIComponent(accountSid)}/Calls`, body, operation: 'createCall' };
}

/**
 * Reads jambonz's 201 `{sid, callId}`: `sid` is the call_sid every webhook of the call carries, `callId` the
 * SIP Call-ID. The 201 comes once the INVITE is sent, before anyone answers.
 */
export function readCreatedCall(body: unknown): PlacedCall & { sipCallId?: string } {
  const created = (typeof body === 'object' && body !== null ? body : {}) as { sid?: unknown; callId?: unknown };
  if (typeof created.sid !== 'string' || created.sid.length === 0) {
    throw new CarrierError(
      'jambonz createCall succeeded without a call sid; the call may exist, so it is not retried',
      ErrorType.CarrierUnavailable,
      false,
      { provider: 'jambonz', operation: 'createCall', detail: JSON.stringify(body)?.slice(0, 300) },
    );
  }
  return typeof created.callId === 'string'
    ? { callId: created.sid, sipCallId: created.callId }
    : { callId: created.sid };
}

/**
 * 2xx success; 429 and 480 retryable (nothing was dialed); 400 and other 4xx refused; 408 and 5xx
 * non-retryable, because the call may have been placed and a retry could place a second one.
 */
export function classifyCreateCallResponse(response: JambonzResponse): CarrierError | undefined {
  const { status, operation } = response;
  if (status >= 200 && status < 300) return undefined;
  if (status === 400) return invalidRequest(response);
  if (status === 480) return noFeatureServer(response);
  if (status === 408 || status >= 500) {
    return new CarrierError(
      `jambonz ${operation}: HTTP ${status}; the call may have been placed, so it is not retried (createCall has no idempotency key)`,
      ErrorType.CarrierUnavailable,
      false,
      { provider: 'jambonz', operation, status },
    );
  }
  return classifyResponse({ ...response, provider: 'jambonz' });
}
