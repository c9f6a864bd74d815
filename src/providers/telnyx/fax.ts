import {
  ErrorType,
  type CallEventOf,
  FaxFailure,
  type CallEvent,
  type FaxCallRequest,
  type FaxStatusReport,
  type PlacedCall,
  type ReceiveFaxInput,
} from '../../calls';
import { CarrierError } from '../errors';
import type { CarrierRequest } from '../types';
import { encodeClientState } from './client-state';

/**
 * Telnyx Programmable Fax: a fax is a resource of its own (`POST /faxes`), not a step of a call. Its id stands
 * where a call id stands for the send-fax workflow (the fax's events carry it as `fax_id`), and its webhooks
 * (`fax.*`, signed like call webhooks) echo our `client_state`, which names the fax workflow.
 *
 * `POST /faxes` takes no `command_id` (spec `SendFaxRequest`): a request that may have reached Telnyx is never
 * sent again for the same attempt (`faxIsIdempotent: false`, the activities' dial rule).
 */

export interface TelnyxFaxOptions {
  /** The Programmable Fax Application id (`connection_id` of `POST /faxes`). */
  faxConnectionId: string;
}

const faxPath = (faxId: string, action?: string) =>
  `/faxes/${encodeURIComponent(faxId)}${action ? `/actions/${action}` : ''}`;

function invalid(detail: string): CarrierError {
  return new CarrierError(`telnyx send_fax: ${detail}`, ErrorType.InvalidCommand, false, {
    provider: 'telnyx',
    operation: 'send_fax',
    detail,
  });
}

export function telnyxSendFaxRequest(request: FaxCallRequest, options: TelnyxFaxOptions): CarrierRequest {
  // Telnyx prints no header line and takes no station identity: refuse rather than drop what was asked for.
  if (request.headerInfo) throw invalid('Telnyx Programmable Fax has no header line (headerInfo)');
  if (request.identity) throw invalid('Telnyx Programmable Fax has no station identity (identity)');
  return {
    method: 'POST',
    path: '/faxes',
    operation: 'send_fax',
    body: {
      connection_id: options.faxConnectionId,
      to: request.to,
      from: request.from,
      media_url: request.documentUrl,
      client_state: encodeClientState({ wf: request.ownerWorkflowId }),
    },
  };
}

/** `202 {data: Fax}`: the fax's id is both the attempt's id and what cancels it. */
export function telnyxSentFax(responseBody: unknown): PlacedCall {
  const id = (responseBody as { data?: { id?: unknown } } | undefined)?.data?.id;
  if (typeof id !== 'string' || id === '') {
    // The fax may exist even so: never send again on this.
    throw new CarrierError('telnyx send_fax: response has no data.id', ErrorType.CarrierRejected, false, {
      provider: 'telnyx',
      operation: 'send_fax',
      detail: 'response has no data.id',
    });
  }
  return { callId: id, faxControlId: id };
}

/** Cancels an outbound fax while it is queued, processed, originated or sending (202), else 422. */
export function telnyxCancelFaxRequest(faxId: string): CarrierRequest {
  return { method: 'POST', path: faxPath(faxId, 'cancel'), operation: 'cancel_fax' };
}

/** Renews the `media_url` of a received fax once it has expired. */
export function telnyxRefreshFaxRequest(faxId: string): CarrierRequest {
  return { method: 'POST', path: faxPath(faxId, 'refresh'), operation: 'refresh_fax' };
}

export function telnyxViewFaxRequest(faxId: string): CarrierRequest {
  return { method: 'GET', path: faxPath(faxId), operation: 'view_fax' };
}

/**
 * `failure_reason` of `fax.failed`, normalised. The spec's enum lists only `rejected`; Telnyx's error list
 * (support article "Fax API - Error List") names the rest. Unknown reasons are `unknown`: not retried.
 */
export const TELNYX_FAX_FAILURES: Readonly<Record<string, FaxFailure>> = {
  user_busy: FaxFailure.Busy,
  receiver_no_answer: FaxFailure.NoAnswer,
  receiver_no_response: FaxFailure.Negotiation,
  fax_initial_communication_timeout: FaxFailure.Negotiation,
  fax_signaling_error: FaxFailure.Negotiation,
  invalid_ecm_response_from_receiver: FaxFailure.Negotiation,
  receiver_communication_error: FaxFailure.Negotiation,
  receiver_incompatible_destination: FaxFailure.Negotiation,
  receiver_recovery_on_timer_expire: FaxFailure.Negotiation,
  user_channel_limit_exceeded: FaxFailure.Congestion,
  connection_channel_limit_exceeded: FaxFailure.Congestion,
  outbound_profile_channel_limit_exceeded: FaxFailure.Congestion,
  service_unavailable: FaxFailure.Congestion,
  receiver_call_dropped: FaxFailure.Dropped,
  destination_invalid: FaxFailure.Unreachable,
  destination_unreachable: FaxFailure.Unreachable,
  receiver_decline: FaxFailure.Unreachable,
  receiver_invalid_number_format: FaxFailure.Unreachable,
  receiver_unallocated_number: FaxFailure.Unreachable,
  rejected: FaxFailure.Unreachable,
  account_disabled: FaxFailure.Refused,
  destination_not_in_countries_whitelist: FaxFailure.Refused,
  destination_not_in_service_plan: FaxFailure.Refused,
  no_outbound_profile: FaxFailure.Refused,
  outbound_profile_daily_spend_limit_exceeded: FaxFailure.Refused,
  unverified_destination_not_allowed: FaxFailure.Refused,
  unverified_origination_number: FaxFailure.Refused,
  file_format_invalid: FaxFailure.Document,
  file_download_failed: FaxFailure.Document,
  file_size_limit_exceeded: FaxFailure.Document,
  page_count_limit_exceeded: FaxFailure.Document,
  media_processing_exception: FaxFailure.Document,
  // Not in Telnyx's list: what the simulator sends after a cancel (what Telnyx sends is unconfirmed).
  canceled: FaxFailure.Cancelled,
  // Received faxes (docs "Receive a Fax via API"): the sender's side failed.
  carrier_lost: FaxFailure.Dropped,
  sender_call_dropped: FaxFailure.Dropped,
  sender_canceled: FaxFailure.Cancelled,
  sender_communication_error: FaxFailure.Negotiation,
};

type FaxEventBase = Omit<Extract<CallEvent, { kind: 'call.answered' }>, 'kind'>;

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const count = (v: unknown): number => (typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : 0);

/** `fax.failed`'s reason, normalised: the event's result code and words. */
function failureOf(
  payload: Record<string, unknown>,
): Pick<CallEventOf<'fax.ended'>, 'resultCode' | 'resultText' | 'failure'> {
  const reason = str(payload.failure_reason) ?? 'unknown';
  const failure = TELNYX_FAX_FAILURES[reason] ?? FaxFailure.Unknown;
  return { resultCode: reason, resultText: failure === reason ? reason : `${failure} (${reason})`, failure };
}

/**
 * One `fax.*` webhook payload of a fax we send, as fax events. `fax.queued` is the attempt's first sign of life
 * (`call.outgoing`, so a fax whose send request's answer was lost can be adopted); `fax.sending.started` means
 * the far end answered and pages are going (`call.answered`); `fax.delivered` / `fax.failed` end it
 * (`fax.ended`). `fax.media.processed` changes nothing for the workflow. Telnyx reports no per-page progress.
 * Received faxes (`direction: inbound`) read as `telnyxReceivedFaxEvent`.
 */
export function telnyxFaxEvent(
  eventType: string,
  base: FaxEventBase,
  payload: Record<string, unknown>,
): CallEvent | undefined {
  if (payload.direction === 'inbound') return telnyxReceivedFaxEvent(eventType, base, payload);
  switch (eventType) {
    case 'fax.queued':
      return { ...base, kind: 'call.outgoing', from: str(payload.from) ?? '', to: str(payload.to) ?? '' };
    case 'fax.sending.started':
      return { ...base, kind: 'call.answered' };
    case 'fax.delivered':
      return {
        ...base,
        kind: 'fax.ended',
        success: true,
        pages: count(payload.page_count),
        resultText: 'delivered',
        remoteIdentity: str(payload.to),
        documentUrl: str(payload.original_media_url),
      };
    case 'fax.failed':
      // Telnyx gives no page count on failure.
      return {
        ...base,
        kind: 'fax.ended',
        success: false,
        pages: 0,
        documentUrl: str(payload.original_media_url),
        ...failureOf(payload),
      };
    default:
      return undefined;
  }
}

/**
 * A received fax's webhooks (docs "Receive a Fax via API"; not in the OpenAPI spec) as the events of a fax
 * call we receive: `fax.receiving.started` is its arrival (`call.incoming`), `fax.media.processing.started`
 * its page count so far (`fax.page`, receive), `fax.received` / `fax.failed` its end, with the received
 * document's (temporary) URL.
 */
export function telnyxReceivedFaxEvent(
  eventType: string,
  base: FaxEventBase,
  payload: Record<string, unknown>,
): CallEvent | undefined {
  switch (eventType) {
    case 'fax.receiving.started':
      return {
        ...base,
        kind: 'call.incoming',
        direction: 'inbound',
        from: str(payload.from) ?? '',
        to: str(payload.to) ?? '',
      };
    case 'fax.media.processing.started':
      return count(payload.page_count) > 0
        ? { ...base, kind: 'fax.page', direction: 'receive', page: count(payload.page_count) }
        : undefined;
    case 'fax.received': {
      const partial = payload.partial_content === true;
      return {
        ...base,
        kind: 'fax.ended',
        success: true,
        pages: count(payload.page_count),
        ...(partial ? { resultCode: 'partial_content' } : {}),
        resultText: partial ? 'received in part' : 'received',
        remoteIdentity: str(payload.caller_id) ?? str(payload.from),
        documentUrl: str(payload.media_url),
      };
    }
    case 'fax.failed':
      return { ...base, kind: 'fax.ended', success: false, pages: 0, ...failureOf(payload) };
    default:
      return undefined;
  }
}

/** The receive-fax workflow a received fax's webhook starts (or reaches); undefined for faxes we send. */
export function telnyxReceivedFax(payload: Record<string, unknown>): ReceiveFaxInput | undefined {
  const faxId = str(payload.fax_id);
  if (payload.direction !== 'inbound' || !faxId) return undefined;
  return { provider: 'telnyx', carrierFaxId: faxId, from: str(payload.from) ?? '', to: str(payload.to) ?? '' };
}

const FINAL_STATUSES: Readonly<Record<string, boolean>> = { delivered: true, received: true, failed: false };

/**
 * `GET /faxes/{id}` → `{data: Fax}` read for reconciliation: its `status`, whether that is final, and for a
 * received fax its document's current `media_url`. `failure_reason` is not in the spec's `Fax` (newer SDKs
 * have it): read when present, else the failure is `unknown` (not retried).
 */
export function telnyxFaxStatus(responseBody: unknown): FaxStatusReport {
  const fax = ((responseBody as { data?: unknown } | undefined)?.data ?? {}) as Record<string, unknown>;
  const status = str(fax.status) ?? 'unknown';
  const final = status in FINAL_STATUSES;
  return {
    status,
    final,
    ...(final ? { success: FINAL_STATUSES[status] } : {}),
    ...(status === 'failed' ? failureOf(fax) : {}),
    ...(fax.direction === 'inbound' && str(fax.media_url) ? { documentUrl: str(fax.media_url) } : {}),
  };
}
