import type { CallCommand, PlaceCallRequest } from '../../calls/commands';
import { OpRoute, documentOnly, unsupported } from '../ops';
import type { CarrierCommands, CarrierRequest } from '../types';
import { classifyJambonzResponse, liveControlForCommand, updateCallRequest } from './live-control';
import {
  classifyCreateCallResponse,
  createCallBody,
  createCallRequest,
  readCreatedCall,
  type JambonzCallApplication,
  type JambonzSpeechDefaults,
} from './outbound-call';
import { isMediaOp } from '../../calls/media';
import { JAMBONZ_MEDIA_GAPS } from './media';
import { JAMBONZ_NO_FAX, JAMBONZ_NO_SUPERVISOR, JAMBONZ_OPS } from './ops';
import { hookUrl, JambonzHook, memberHookUrl, operationHooks, STATUS_HOOK_RETRIES } from './webhook';

/**
 * What the worker needs to command jambonz: Live Call Control for the operations that act on the running
 * verb, `createCall` to place calls, the call resource to reconcile. Everything else travels as verbs in the
 * documents the gateway returns (`JAMBONZ_OPS`), so it never reaches `commandRequest`.
 */

/**
 * Speech defaults for calls placed without a stored application (jambonz requires all five then). With
 * `JAMBONZ_APPLICATION_SID` set, the application's own defaults apply instead.
 */
export const JAMBONZ_DEFAULT_SPEECH: JambonzSpeechDefaults = {
  speech_synthesis_vendor: 'google',
  speech_synthesis_language: 'en-US',
  speech_synthesis_voice: 'en-US-Standard-C',
  speech_recognizer_vendor: 'google',
  speech_recognizer_language: 'en-US',
};

export interface JambonzCommandsOptions {
  accountSid: string;
  /** The URL jambonz reaches the gateway at; hook URLs in Live Call Control and createCall live under it. */
  publicBaseUrl: string;
  /** The webhook secret that keys the tokens of our hook URLs (the first configured one). */
  hookSecret: string;
  /** Calls we place run this stored application (its hooks must be the gateway's). Unset: our own hooks. */
  applicationSid?: string;
  speechDefaults?: JambonzSpeechDefaults;
}

const ENDED_STATUSES = new Set(['completed', 'failed', 'busy', 'no-answer']);

export function createJambonzCommands(options: JambonzCommandsOptions): CarrierCommands {
  const { accountSid, publicBaseUrl, hookSecret } = options;
  const hooksFor = (command: CallCommand) =>
    operationHooks({
      publicBaseUrl,
      secret: hookSecret,
      workflowId: command.ownerWorkflowId,
      controlId: command.commandKey,
    });

  const application = (request: PlaceCallRequest): JambonzCallApplication =>
    options.applicationSid
      ? { application_sid: options.applicationSid }
      : {
          call_hook: hookUrl(publicBaseUrl, hookSecret, request.ownerWorkflowId, JambonzHook.Call),
          call_status_hook:
            hookUrl(publicBaseUrl, hookSecret, request.ownerWorkflowId, JambonzHook.Status) + STATUS_HOOK_RETRIES,
          ...(options.speechDefaults ?? JAMBONZ_DEFAULT_SPEECH),
        };

  /**
   * A supervisor or a consulted party joins the room the call was moved into: its own verbs (a signed member
   * hook) instead of a session's, and the session's status hook, so the session hears it answer and end.
   */
  const applicationFor = (request: PlaceCallRequest): JambonzCallApplication => {
    const { supervise } = request;
    if (supervise && !supervise.room) throw unsupported('jambonz', 'a supervisor leg', JAMBONZ_NO_SUPERVISOR);
    const member = supervise?.room ? { room: supervise.room, as: supervise.role } : request.joinRoom;
    if (!member) return application(request);
    return {
      call_hook: memberHookUrl(
        publicBaseUrl,
        hookSecret,
        request.ownerWorkflowId,
        request.commandKey,
        member.room,
        member.as,
      ),
      call_status_hook:
        hookUrl(publicBaseUrl, hookSecret, request.ownerWorkflowId, JambonzHook.Status) + STATUS_HOOK_RETRIES,
      ...(options.speechDefaults ?? JAMBONZ_DEFAULT_SPEECH),
    };
  };

  return {
    provider: 'jambonz',
    dialIsIdempotent: false,

    commandRequest(command: CallCommand): CarrierRequest {
      if (command.op === 'switchSupervisorRole' && !command.room)
        throw unsupported('jambonz', command.op, JAMBONZ_NO_SUPERVISOR);
      if (JAMBONZ_OPS[command.op] === OpRoute.Unsupported)
        throw unsupported(
          'jambonz',
          command.op,
          (isMediaOp(command.op) && JAMBONZ_MEDIA_GAPS[command.op]) || JAMBONZ_NO_FAX,
        );
      const body = liveControlForCommand(command, hooksFor(command));
      if (body === undefined) {
        throw documentOnly('jambonz', command.op);
      }
      // Refuses a body that breaks jambonz's combination rules before anything is sent (InvalidUpdateCallError).
      return updateCallRequest(accountSid, command.callId, body);
    },

    placeCallRequest(request: PlaceCallRequest): CarrierRequest {
      const amdHook = request.detectMachine
        ? hookUrl(publicBaseUrl, hookSecret, request.ownerWorkflowId, JambonzHook.Amd, request.commandKey)
        : undefined;
      return createCallRequest(accountSid, createCallBody(request, applicationFor(request), amdHook));
    },

    placedCall: (responseBody) => {
      const { callId } = readCreatedCall(responseBody);
      return { callId };
    },

    callStatusRequest: (callId) => ({
      method: 'GET',
      path: `/Accounts/${encodeURIComponent(accountSid)}/Calls/${encodeURIComponent(callId)}`,
      operation: 'getCall',
    }),

    /** A call record (404 once jambonz has dropped it, which the activity reads as gone). */
    callIsAlive(responseBody) {
      const status = (responseBody as { call_status?: unknown } | undefined)?.call_status;
      return typeof status !== 'string' || !ENDED_STATUSES.has(status);
    },

    /** createCall must never be retried once it may have reached jambonz; everything else is Live Call Control. */
    classify: (outcome) =>
      outcome.operation === 'createCall' ? classifyCreateCallResponse(outcome) : classifyJambonzResponse(outcome),
  };
}
