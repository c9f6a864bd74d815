import type { CallCommand, FaxCallRequest, PlaceCallRequest } from '../../calls';
import type { CarrierCommands, CarrierRequest } from '../types';
import {
  callingRequest,
  classifySignalWireResponse,
  dialRequest,
  signalwireAuthorization,
  signalwireCallIsAlive,
  signalwireCallStatusRequest,
  signalwireCommandRequest,
  signalwirePlaceCallRequest,
  signalwirePlacedCall,
} from './commands';
import { hangupMethod, sendFaxMethod, swmlDocument } from './documents';
import { statusCallbackUrl, type CallbackConfig } from './webhook';

/**
 * SignalWire as the worker's activities see it (`CarrierCommands`): REST requests for the operations a
 * session sends as commands, `dial` for outbound legs and faxes, and how to read the answers. The
 * operations a session sends as documents (`SIGNALWIRE_DOCUMENT_OPS`) never come here: the gateway renders
 * them as SWML in the answer to the call's next document fetch.
 */

export interface SignalWireConfig {
  /** The space URL (`https://<space>.signalwire.com`), or the simulator's. */
  apiBaseUrl: string;
  projectId: string;
  apiToken: string;
  /**
   * The project's signing key. It verifies SWML fetches, and keys the tokens in the callback URLs we hand
   * SignalWire (the `status_url`s and document URLs that carry `wf`).
   */
  signingKey: string;
  /** The gateway's public base URL: where SignalWire sends callbacks and fetches documents. */
  publicBaseUrl: string;
}

export interface SignalWireCommands extends CarrierCommands {
  readonly provider: 'signalwire';
  /** `Authorization` for every REST request (Basic: project id and API token). */
  readonly authorization: string;
  readonly callbacks: CallbackConfig;
  /**
   * A `dial` whose call runs an inline document that sends the fax and hangs up. The fax's page and end
   * callbacks and the call's state callbacks all reach `ownerWorkflowId`.
   */
  placeFaxCallRequest(request: FaxCallRequest): CarrierRequest;
  /** Stops a running fax by the control_id its callbacks carried (SWML-started faxes get SignalWire's ids). */
  stopFaxRequest(callId: string, controlId: string, direction: 'send' | 'receive'): CarrierRequest;
}

export function signalwireCallbacks(config: Pick<SignalWireConfig, 'publicBaseUrl' | 'signingKey'>): CallbackConfig {
  return { publicBaseUrl: config.publicBaseUrl, secret: config.signingKey };
}

export function sendFaxCallRequest(request: FaxCallRequest, callbacks: CallbackConfig): CarrierRequest {
  const statusUrl = statusCallbackUrl(callbacks.publicBaseUrl, callbacks.secret, request.ownerWorkflowId);
  return dialRequest({
    from: request.from,
    to: request.to,
    timeout: request.timeoutSeconds ?? 60,
    status_url: statusUrl,
    status_events: ['created', 'ringing', 'answered', 'ended'],
    swml: swmlDocument([
      sendFaxMethod({
        documentUrl: request.documentUrl,
        headerInfo: request.headerInfo,
        identity: request.identity,
        statusUrl,
      }),
      hangupMethod('hangup'),
    ]),
  });
}

export function createSignalWireCommands(config: SignalWireConfig): SignalWireCommands {
  const callbacks = signalwireCallbacks(config);
  return {
    provider: 'signalwire',
    authorization: signalwireAuthorization(config.projectId, config.apiToken),
    callbacks,
    commandRequest: (command: CallCommand) => signalwireCommandRequest(command, { callbacks }),
    placeCallRequest: (request: PlaceCallRequest) => signalwirePlaceCallRequest(request, callbacks),
    placedCall: signalwirePlacedCall,
    callStatusRequest: signalwireCallStatusRequest,
    callIsAlive: signalwireCallIsAlive,
    // No idempotency key on `dial`: an attempt that may have reached SignalWire is never repeated.
    dialIsIdempotent: false,
    classify: (outcome) => classifySignalWireResponse(outcome),
    placeFaxCallRequest: (request) => sendFaxCallRequest(request, callbacks),
    stopFaxRequest: (callId, controlId, direction) =>
      callingRequest(direction === 'send' ? 'calling.send_fax.stop' : 'calling.receive_fax.stop', callId, {
        control_id: controlId,
      }),
  };
}
