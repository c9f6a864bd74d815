import type { KeyObject } from 'node:crypto';
import type { CommandCarrier } from '../types';
import {
  telnyxCallIsAlive,
  telnyxCallStatusRequest,
  telnyxCommandRequest,
  telnyxPlaceCallRequest,
  telnyxPlacedCall,
  type TelnyxCommandOptions,
} from './commands';
import { normaliseTelnyxWebhook } from './events';
import {
  telnyxCancelFaxRequest,
  telnyxFaxStatus,
  telnyxRefreshFaxRequest,
  telnyxSendFaxRequest,
  telnyxSentFax,
  telnyxViewFaxRequest,
  type TelnyxFaxOptions,
} from './fax';
import { telnyxPublicKey, verifyTelnyxSignature } from './webhook';

export * from './client-state';
export * from './commands';
export * from './ops';
export * from './events';
export * from './fax';
export * from './webhook';
export * from './media';

/** "Call has already ended" and "Invalid Call Control ID": the leg is gone, retrying cannot help. */
export const TELNYX_CALL_GONE_CODES = ['90018', '90015'] as const;

export interface TelnyxAdapterOptions extends TelnyxCommandOptions, TelnyxFaxOptions {
  /** Portal public key (base64 of 32 bytes); without it every webhook is refused. */
  publicKey?: string;
}

export function createTelnyxAdapter(options: TelnyxAdapterOptions): CommandCarrier {
  const key: KeyObject | undefined = options.publicKey ? telnyxPublicKey(options.publicKey) : undefined;
  return {
    provider: 'telnyx',
    verify: (webhook, nowMs) =>
      key ? verifyTelnyxSignature(webhook, key, nowMs) : { ok: false, reason: 'TELNYX_PUBLIC_KEY is not configured' },
    normalise: normaliseTelnyxWebhook,
    commandRequest: (command) => telnyxCommandRequest(command, options),
    placeCallRequest: (request) => telnyxPlaceCallRequest(request, options),
    placedCall: telnyxPlacedCall,
    callStatusRequest: telnyxCallStatusRequest,
    callIsAlive: telnyxCallIsAlive,
    dialIsIdempotent: true,
    // Programmable Fax: a fax is its own resource, cancelled by its id (the workflow's fax control id).
    placeFaxCallRequest: (request) => telnyxSendFaxRequest(request, options),
    placedFax: telnyxSentFax,
    faxIsIdempotent: false,
    stopFaxRequest: (_faxId, controlId) => telnyxCancelFaxRequest(controlId),
    faxStatusRequest: telnyxViewFaxRequest,
    faxStatus: telnyxFaxStatus,
    refreshFaxDocumentRequest: telnyxRefreshFaxRequest,
  };
}
