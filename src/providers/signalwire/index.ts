import type { Capabilities } from '../types';
import {
  classifySignalWireResponse,
  isDocumentOnly,
  signalwireAuthorization,
  signalwireCallIsAlive,
  signalwireCallStatusRequest,
  signalwireCommandRequest,
  signalwirePlaceCallRequest,
  signalwirePlacedCall,
  updateRequest,
} from './commands';
import { documentForCommand, hasDocumentForm, holdingDocument } from './documents';
import { normaliseDocumentRequest, normaliseStatusCallback } from './events';
import { legStatusFromSession, legStatusFromWire } from './update-rules';
import { callbackOwner, documentUrl, statusCallbackUrl, verifySignalWireSignature } from './webhook';

export * from './carrier';
export * from './commands';
export * from './documents';
export * from './events';
export * from './update-rules';
export * from './webhook';

/**
 * What the flow API can do on SignalWire. Answer, bridge, DTMF and fax go through SWML documents;
 * queues are our queue workflows, not SignalWire's; `client_state` is a Telnyx notion (SignalWire routes
 * by the callback URL instead).
 */
export const SIGNALWIRE_CAPABILITIES: Capabilities = {
  answer: true,
  hangup: true,
  reject: true,
  play: true,
  say: true,
  stopPlayback: true,
  gather: true,
  stopGather: true,
  recordStart: true,
  recordStop: true,
  recordPause: true,
  recordResume: true,
  bridge: true,
  transfer: true,
  sendDtmf: true,
  enqueue: false,
  leaveQueue: false,
  forkStart: true,
  forkStop: true,
  clientStateUpdate: false,
  sendFax: true,
  receiveFax: true,
  connect: true,
  redirect: true,
};

/**
 * The SignalWire adapter: pure functions, configuration passed in. SignalWire is a document carrier, so
 * this is not a `CommandCarrier`: besides REST commands a session needs documents (`isDocumentOnly`,
 * `documentForCommand`, `holdingDocument`) and `update` redirects to reach the call.
 */
export const signalwireAdapter = {
  provider: 'signalwire',
  capabilities: SIGNALWIRE_CAPABILITIES,
  verify: verifySignalWireSignature,
  callbackOwner,
  statusCallbackUrl,
  documentUrl,
  normaliseStatusCallback,
  normaliseDocumentRequest,
  isDocumentOnly,
  hasDocumentForm,
  commandRequest: signalwireCommandRequest,
  documentForCommand,
  holdingDocument,
  updateRequest,
  legStatusFromSession,
  legStatusFromWire,
  placeCallRequest: signalwirePlaceCallRequest,
  placedCall: signalwirePlacedCall,
  callStatusRequest: signalwireCallStatusRequest,
  callIsAlive: signalwireCallIsAlive,
  classifyResponse: classifySignalWireResponse,
  authorization: signalwireAuthorization,
} as const;
