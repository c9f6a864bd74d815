import type { AgentScript, CallerScript, SimRecording } from '../scripts';
import type { DeliveryFaultOptions } from '../delivery-faults';
import type { SimulatorHandle, SimulatorOptions } from '../types';

export type { AgentScript, CallerScript, SimRecording };

/**
 * Public types of the Telnyx Call Control simulator. Durations in scripts are simulated milliseconds:
 * the simulator multiplies them by `timeScale`.
 */

export interface TelnyxSimulatorOptions extends SimulatorOptions {
  /** Where webhooks are POSTed (the gateway's `/webhooks/telnyx`); may be set later with `setWebhookUrl`. */
  webhookUrl: string;
  /** The Bearer token every REST call must carry (401 otherwise). */
  apiKey: string;
  /** The Call Control App id `dial` must name. @default DEFAULT_CONNECTION_ID */
  connectionId?: string;
  /** The Programmable Fax Application id `POST /faxes` must name. @default connectionId */
  faxConnectionId?: string;
  /** Fax machines behind the numbers faxes are sent to, keyed by E.164; other numbers do not answer. */
  faxes?: Record<string, TelnyxFaxScript>;
  faults?: FaultOptions;
  /**
   * Ed25519 private key that signs webhooks, as PKCS8 PEM, base64 of PKCS8 DER or base64 of the 32-byte
   * seed, so a restarted simulator keeps its public key. Generated when absent.
   */
  privateKey?: string;
  /** @default '<repo root>/../shared/specs/telnyx-call-control.openapi.json' */
  specPath?: string;
}

/** The fax machine behind a number we send a Programmable Fax to. */
export interface TelnyxFaxScript {
  /**
   * `failure`: `fax.failed` with `failureReason` (on `failOnPage`, or before dialling for a media reason);
   * `fail-on-page` (as in SignalWire's fax scripts): the call drops on `failOnPage` (`receiver_call_dropped`).
   */
  outcome: 'success' | 'busy' | 'no-answer' | 'failure' | 'fail-on-page';
  /** Pages the document has. @default 3 */
  pages?: number;
  /** With `failure`: Telnyx's `failure_reason`. @default 'fax_signaling_error' ('receiver_call_dropped' for fail-on-page) */
  failureReason?: string;
  /** With `failure`: the page the transmission breaks on (pages before it arrive). @default 1 */
  failOnPage?: number;
  /** The first this-many faxes to the number find it busy, later ones get `outcome` (retry tests). */
  attemptsBeforeSuccess?: number;
  /** The fax's final webhook (`fax.delivered` / `fax.failed`) is lost: only `GET /faxes/{id}` tells the outcome. */
  loseFinalWebhook?: boolean;
}

/** A fax machine faxing one of our numbers (a Programmable Fax Application's): the fax we receive. */
export interface TelnyxInboundFaxScript {
  from: string;
  to: string;
  /** @default 3 */
  pages?: number;
  /** `received` (the default), `partial` (`partial_content`: the pages before the break), or `failed`. */
  outcome?: 'received' | 'partial' | 'failed';
  /** With `failed`: the `failure_reason`. @default 'sender_call_dropped' */
  failureReason?: string;
  /** The final webhook (`fax.received` / `fax.failed`) is lost: only `GET /faxes/{id}` tells the outcome. */
  loseFinalWebhook?: boolean;
}

export type SimFaxStatus =
  | 'queued'
  | 'media.processed'
  | 'originated'
  | 'sending'
  | 'delivered'
  | 'failed'
  // Received faxes.
  | 'receiving'
  | 'media.processing'
  | 'received';

/** A fax sent through the simulated Programmable Fax API (or received on it: `direction: inbound`). */
export interface TelnyxSimFax {
  id: string;
  direction: 'outbound' | 'inbound';
  from: string;
  to: string;
  mediaUrl: string;
  status: SimFaxStatus;
  /** Pages the far end has received. */
  pagesSent: number;
  failureReason?: string;
  /** Cancelled through `POST /faxes/{id}/actions/cancel`. */
  cancelled?: boolean;
  /** The fax's webhooks, in the order they were sent. */
  webhooks: string[];
  /** Webhooks the `loseFinalWebhook` script never sent. */
  lostWebhooks?: string[];
  /** Received faxes: `POST /faxes/{id}/actions/refresh` calls so far (each signs a new `media_url`). */
  refreshes?: number;
}

export interface FaultOptions extends DeliveryFaultOptions {
  /** The first `count` attempts of every command (by `command_id`) get this error instead of running. */
  failFirstCommandAttempts?: { status: 500 | 503 | 429; count: number; share?: number; retryAfterSeconds?: number };
  /**
   * `POST /faxes` to these numbers is carried out (the fax is queued and sent), but its first answer for each
   * number is a 500: the response lost on its way back, so the client cannot know the fax exists.
   */
  loseFaxResponseTo?: string[];
  /** Deliver every webhook twice (same event id, separately signed). */
  duplicateWebhooks?: boolean;
  /** Random delay before each webhook's first delivery attempt, in real milliseconds. @default [2, 20] */
  webhookDelayMs?: [number, number];
}

export type SimLegState = 'parked' | 'ringing' | 'answered' | 'bridged' | 'ended';

export interface SimCallRecord {
  callControlId: string;
  callLegId: string;
  callSessionId: string;
  direction: 'incoming' | 'outgoing';
  from: string;
  to: string;
  state: SimLegState;
  hangupCause?: string;
  hangupSource?: string;
  /** Every prompt played to this leg (speak payloads and audio URLs), in order. */
  heard: string[];
  /** Every DTMF digit the scripted caller pressed, in order. */
  digitsPressed: string;
  /** call_control_id of the leg this one is bridged with (the last one, once unbridged). */
  bridgedWith?: string;
  recordings: SimRecording[];
  /** The queue the leg is waiting in now. */
  queue?: string;
  /** A supervisor leg: the call_control_id it supervises, and its roles (dial's, then each switch) in order. */
  supervising?: string;
  supervisorRoles?: string[];
  /** A one-line human summary, e.g. "answered, pressed 1, bridged to +15550002000, caller hung up". */
  outcome: string;
}

export interface CommandLogEntry {
  /** ISO time the request arrived. */
  at: string;
  callControlId?: string;
  /** The fax a Programmable Fax request named or created. */
  faxId?: string;
  /** The action name; `dial` for POST /calls. */
  action: string;
  commandId?: string;
  body: unknown;
  /** The HTTP status the simulator answered. */
  status: number;
  /** A repeated command_id inside the 60 s window: acknowledged, not executed. */
  duplicate: boolean;
}

export interface DeliveredWebhook {
  eventId: string;
  eventType: string;
  callControlId?: string;
  callLegId: string;
  /** The exact JSON bytes sent (and signed). */
  body: string;
  /** The second copy sent because of the `duplicateWebhooks` fault. */
  duplicate: boolean;
  status: 'pending' | 'delivered' | 'failed';
  attempts: number;
  /** The URL of the last attempt. */
  url?: string;
  lastStatusCode?: number;
  lastError?: string;
  deliveredAt?: string;
  /** ISO time of the first / the latest attempt. */
  firstAttemptAt?: string;
  lastAttemptAt?: string;
  /** The `reorderWebhooks` fault sent it outside the call's in-order lane. */
  reordered?: boolean;
  /** The `dropWebhooks` fault lost it: never sent (status `failed`). */
  dropped?: boolean;
  /** The `noRetry` fault gave it up after its first failed attempt. */
  notRetried?: boolean;
  /** Violations of the spec's webhook schema (a simulator bug if not empty). */
  specErrors: string[];
}

export interface TelnyxSimulator extends SimulatorHandle<SimCallRecord, CommandLogEntry, DeliveredWebhook> {
  /** e.g. http://127.0.0.1:PORT/v2 (what TELNYX_API_BASE_URL is set to). */
  readonly baseUrl: string;
  /** Base64 of the 32 raw bytes of the Ed25519 public key, as the Telnyx portal shows it (TELNYX_PUBLIC_KEY). */
  readonly publicKeyBase64: string;
  readonly connectionId: string;
  setWebhookUrl(url: string): void;
  placeInboundCall(script: CallerScript): Promise<{ callControlId: string }>;
  /** Every fax sent through the Programmable Fax API. */
  faxes(): TelnyxSimFax[];
  /** A fax machine faxes one of our numbers: the fax's webhooks go to the webhook URL. Answers its `fax_id`. */
  receiveFax(script: TelnyxInboundFaxScript): { faxId: string };
}
