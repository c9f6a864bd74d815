import type {
  CallCommand,
  CallEvent,
  FaxCallRequest,
  FaxStatusReport,
  PlaceCallRequest,
  PlacedCall,
  Provider,
  ReceiveFaxInput,
} from '../calls';
import type { CarrierError } from './errors';

/**
 * The contract every carrier adapter fulfils. Adapters are pure (no Temporal, no fastify, no sockets):
 * the gateway, the activities and the simulator all share them.
 */

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

/** One HTTP request to a carrier's REST API, relative to its base URL. */
export interface CarrierRequest {
  method: HttpMethod;
  /** Path under the API base URL, starting with `/`. */
  path: string;
  body?: unknown;
  /** The operation, for logs and error messages (`answer`, `dial`, `calling.play`, ...). */
  operation: string;
}

/** A webhook as it reached the gateway: the exact bytes, lower-cased headers and the public URL. */
export interface IncomingWebhook {
  /** The full URL the carrier called, as it would sign it (scheme, host, path and query). */
  url: string;
  headers: Record<string, string | undefined>;
  rawBody: Buffer;
}

export type VerifyResult = { ok: true } | { ok: false; reason: string };

/** A normalised webhook: the events it carries and the session they belong to. */
export interface RoutedEvents {
  /** The workflow that owns the leg (from `client_state`, a callback URL, ...), if the carrier told us. */
  ownerWorkflowId?: string;
  events: CallEvent[];
  /** A fax received on a carrier's fax API (Telnyx): its events go to, and start, its receive-fax workflow. */
  receivedFax?: ReceiveFaxInput;
}

/** What the worker's activities need from a carrier: requests for commands, and how to read responses. */
export interface CarrierCommands {
  readonly provider: Provider;
  /** The REST request for a command on an existing leg. */
  commandRequest(command: CallCommand): CarrierRequest;
  /** The REST request that places a new leg, and how to read its response. */
  placeCallRequest(request: PlaceCallRequest): CarrierRequest;
  placedCall(responseBody: unknown): PlacedCall;
  /** The request that reads a leg's status, for reconciliation. */
  callStatusRequest(callId: string): CarrierRequest;
  callIsAlive(responseBody: unknown): boolean;
  /**
   * Whether placing a call carries an idempotency key (Telnyx `command_id`). Without one, a dial that may
   * have reached the carrier is never retried: a retry could place a second call.
   */
  readonly dialIsIdempotent: boolean;
  /**
   * Carriers that fax: the request that starts sending a fax (a call that sends it once answered, or the
   * carrier's fax API), and the one that stops a running fax by its control id (from the fax's events, or
   * `PlacedCall.faxControlId`). Absent: faxing fails with `Unsupported`.
   */
  placeFaxCallRequest?(request: FaxCallRequest): CarrierRequest;
  /** Reads the answer to `placeFaxCallRequest`; absent: it reads like `placedCall`. */
  placedFax?(responseBody: unknown): PlacedCall;
  /** Whether `placeFaxCallRequest` carries an idempotency key; absent: as `dialIsIdempotent`. */
  readonly faxIsIdempotent?: boolean;
  stopFaxRequest?(callId: string, controlId: string, direction: 'send' | 'receive'): CarrierRequest;
  // Faxes that are the carrier's own resources (Telnyx Programmable Fax): read one by its id (a fax whose final
  // webhook was lost), and renew a received fax's document URL.
  faxStatusRequest?(faxId: string): CarrierRequest;
  faxStatus?(responseBody: unknown): FaxStatusReport;
  refreshFaxDocumentRequest?(faxId: string): CarrierRequest;
  /** Overrides the generic response classification (e.g. SignalWire `dial` 422 is a refusal, not "call gone"). */
  classify?(input: {
    operation: string;
    status: number;
    headers: Record<string, string | string[] | undefined>;
    body: unknown;
  }): CarrierError | undefined;
}

/** A carrier commanded over REST whose webhooks are plain notifications (Telnyx). */
export interface CommandCarrier extends CarrierCommands {
  /** Checks the webhook's signature and freshness against the raw bytes. */
  verify(webhook: IncomingWebhook, nowMs?: number): VerifyResult;
  /** Turns a verified webhook body into events; throws `MalformedWebhookError` on a body it cannot read. */
  normalise(rawBody: Buffer): RoutedEvents;
}

/** A webhook body that is not what the carrier documents. The gateway answers 400. */
export class MalformedWebhookError extends Error {
  override readonly name = 'MalformedWebhookError';
}
