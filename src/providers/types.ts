import type { CallCommand, CallEvent, CallOp, PlaceCallRequest, PlacedCall, Provider } from '../calls';

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
}

/** Which flow-API operations a carrier can do; anything else fails fast with `Unsupported`. */
export type Capabilities = Record<CallOp, boolean>;

export interface CommandCarrier {
  readonly provider: Provider;
  readonly capabilities: Capabilities;
  /** Checks the webhook's signature and freshness against the raw bytes. */
  verify(webhook: IncomingWebhook, nowMs?: number): VerifyResult;
  /** Turns a verified webhook body into events; throws `MalformedWebhookError` on a body it cannot read. */
  normalise(rawBody: Buffer): RoutedEvents;
  /** The REST request for a command on an existing leg. */
  commandRequest(command: CallCommand): CarrierRequest;
  /** The REST request that places a new leg, and how to read its response. */
  placeCallRequest(request: PlaceCallRequest): CarrierRequest;
  placedCall(responseBody: unknown): PlacedCall;
  /** The request that reads a leg's status, for reconciliation. */
  callStatusRequest(callId: string): CarrierRequest;
  callIsAlive(responseBody: unknown): boolean;
}

/** A webhook body that is not what the carrier documents. The gateway answers 400. */
export class MalformedWebhookError extends Error {
  override readonly name = 'MalformedWebhookError';
}
