import type { CallerScript, SimRecording } from '../scripts';
import type { DeliveryFaultOptions } from '../delivery-faults';
import type { SimulatorHandle, SimulatorOptions } from '../types';

/**
 * Public types of the SignalWire Calling API + SWML simulator. Durations in scripts are simulated
 * milliseconds: the simulator multiplies them by `timeScale`. Callers and agents are the same scripted
 * people as in the Telnyx simulator (`CallerScript`, `AgentScript`).
 */

export interface SignalWireSimulatorOptions extends SimulatorOptions {
  /**
   * The space's inbound-call SWML URL, where every inbound call's first document is fetched: the gateway's
   * `<base>/webhooks/signalwire/swml`. May be changed later with `setSwmlUrl`.
   */
  swmlUrl: string;
  /** REST Basic auth: the project id is the user name (and `project_id` in every payload; use a UUID). */
  projectId: string;
  apiToken: string;
  /** Signs every SWML fetch (`X-SignalWire-Signature`, `X-Signalwire-SHA256-Signature`). */
  signingKey: string;
  /** Fax machines behind the numbers we send faxes to, keyed by E.164. They take precedence over `agents`. */
  faxes?: Record<string, FaxScript>;
  faults?: SignalWireFaultOptions;
  /**
   * The phone number's Status Change Webhook: `calling.call.state` callbacks (created, answered, ended) of
   * inbound calls, which otherwise have no status_url (nothing would tell our service the caller hung up).
   */
  statusChangeUrl?: string;
  /** @default '<repo root>/../shared/specs/signalwire-calling.openapi.yaml' */
  specPath?: string;
}

/** The fax machine behind a number we dial. */
export interface FaxScript {
  outcome: 'success' | 'busy' | 'no-answer' | 'fail-on-page';
  /** Pages the document has. @default the page count of the PDF at the `send_fax` document URL, else 3 */
  pages?: number;
  /** With `fail-on-page`: the page the transmission breaks on (pages before it arrive). @default 1 */
  failOnPage?: number;
  /** The first this-many dials to the number find it busy, later ones get `outcome` (retry tests). */
  attemptsBeforeSuccess?: number;
}

/** A fax machine calling one of our numbers; our flow answers it with `receive_fax`. */
export interface InboundFaxScript {
  from: string;
  to: string;
  pages: number;
  /** The transmission breaks on this page: only the pages before it arrive. */
  failOnPage?: number;
}

export interface SignalWireFaultOptions extends DeliveryFaultOptions {
  /** The first `count` attempts of every REST command (by call, command and control_id) get this error instead of running. */
  failFirstCommandAttempts?: { status: 500 | 503 | 429; count: number; share?: number; retryAfterSeconds?: number };
  /** Deliver every status callback twice (identical bytes). */
  duplicateWebhooks?: boolean;
  /** Random delay before each status callback's first delivery attempt, in real milliseconds. @default [2, 20] */
  webhookDelayMs?: [number, number];
}

/** SignalWire's call states (`calling.call.state` `call_state`). */
export type SignalWireCallState = 'created' | 'ringing' | 'answered' | 'ending' | 'ended';

export interface SimFax {
  direction: 'send' | 'receive';
  pages: number;
  success: boolean;
  resultCode: number;
  resultText: string;
  /** The sent document's URL, or the URL the simulator serves a received fax at. */
  document: string;
}

export interface SignalWireCallRecord {
  callId: string;
  nodeId: string;
  direction: 'inbound' | 'outbound';
  from: string;
  to: string;
  /** Who is at the far end: a scripted person, or a fax machine. */
  remote: 'person' | 'fax';
  state: SignalWireCallState;
  /** `end_reason` as the ended call-state callback reports it (`hangup`, `busy`, `noAnswer`, ...). */
  endReason?: string;
  /** Who ended the call: the far end, our service (SWML `hangup`, `calling.end`, ...), or SignalWire itself. */
  endedBy?: 'remote' | 'app' | 'carrier';
  /** Every text spoken (`say:`) and audio URL played to this leg, in order. */
  heard: string[];
  /** Every DTMF digit the scripted person pressed, in order. */
  digitsPressed: string;
  /** DTMF our service sent on this leg (`send_digits`). */
  digitsSent: string;
  /** call_id of the leg this one is bridged with (the last one, once unbridged). */
  bridgedWith?: string;
  recordings: SimRecording[];
  faxes: SimFax[];
  /** SWML documents fetched for this leg (the first fetch, dial URLs, hand-backs, redirects). */
  documentsFetched: number;
  /** The call's SWML variables now, as the next fetch's `vars` would carry them. */
  vars: Record<string, string>;
  /** A one-line summary, e.g. "answered, pressed 1, bridged to +15550002000, caller hung up". */
  outcome: string;
}

export interface SignalWireCommandLogEntry {
  /** ISO time the request arrived. */
  at: string;
  command: string;
  /** The call the command is for: top-level `id`, or `params.id` for `update`; the new leg for `dial`. */
  callId?: string;
  controlId?: string;
  body: unknown;
  /** The HTTP status the simulator answered. */
  status: number;
  /** A repeated control_id of an operation still active on the call: acknowledged, not run again. */
  duplicate: boolean;
}

export interface SignalWireDelivery {
  kind: 'swml-fetch' | 'status-callback';
  /** `event_type` of a status callback; `swml.fetch` for a document fetch. */
  eventType: string;
  callId: string;
  method: 'GET' | 'POST';
  /** The URL requested (a status_url or document URL, query string untouched). */
  url: string;
  /** The exact JSON bytes sent (and, for fetches, signed). */
  body: string;
  /** The second copy sent because of the `duplicateWebhooks` fault. */
  duplicate: boolean;
  status: 'pending' | 'delivered' | 'failed';
  attempts: number;
  lastStatusCode?: number;
  lastError?: string;
  deliveredAt?: string;
  /** ISO time of the first / the latest attempt. */
  firstAttemptAt?: string;
  lastAttemptAt?: string;
  /** The `reorderWebhooks` fault sent this status callback outside the call's in-order lane. */
  reordered?: boolean;
  /** The `dropWebhooks` fault lost this status callback: never sent (status `failed`). */
  dropped?: boolean;
  /** The `noRetry` fault gave it up after its first failed attempt. */
  notRetried?: boolean;
  /** Violations of the spec's schema or the documented shape (a simulator bug if not empty). */
  specErrors: string[];
}

export interface SignalWireSimulator
  extends SimulatorHandle<SignalWireCallRecord, SignalWireCommandLogEntry, SignalWireDelivery> {
  /** The space URL (what SIGNALWIRE_API_BASE_URL is set to); REST at `${baseUrl}/api/calling/calls`. */
  readonly baseUrl: string;
  readonly projectId: string;
  /** The space id every payload carries. */
  readonly spaceId: string;
  setSwmlUrl(url: string): void;
  placeInboundCall(script: CallerScript): Promise<{ callId: string }>;
  placeInboundFax(script: InboundFaxScript): Promise<{ callId: string }>;
}
