import type { CallerScript } from '../scripts';
import type { DeliveryFaultOptions } from '../delivery-faults';
import type { SimulatorHandle, SimulatorOptions } from '../types';

/**
 * Public types of the jambonz simulator (a feature server and api server in one process). Durations in
 * scripts and verbs are simulated time, multiplied by `timeScale`; HTTP timeouts are real time.
 */

export interface JambonzSimulatorOptions extends SimulatorOptions {
  /** The application's `call_hook`: our gateway's `applicationHookUrl(base, 'call')`. */
  callHookUrl: string;
  /** The application's `call_status_hook`: our gateway's `applicationHookUrl(base, 'status')`. */
  statusHookUrl: string;
  accountSid: string;
  /** The Bearer token every REST request must carry (401 otherwise). */
  apiKey: string;
  /** The account's webhook secret: every hook carries `Jambonz-Signature` made with it. */
  webhookSecret: string;
  /** The application inbound calls run; `createCall` may name it. @default DEFAULT_APPLICATION_SID */
  applicationSid?: string;
  /**
   * How long a hook may take to answer, real milliseconds (the feature server's JAMBONES_HTTP_TIMEOUT).
   * A hook that times out or fails rejects an inbound call (480) or ends a running one. @default 10000
   */
  webhookTimeoutMs?: number;
  faults?: JambonzFaultOptions;
  /** The folder holding jambonz-verbs.specs.json and jambonz-api.swagger.yaml. @default '<repo root>/../shared/specs' */
  specPath?: string;
}

/**
 * `reorderWebhooks` and `dropWebhooks` apply to call:status hooks (verb hooks are request and answer: one at a
 * time per call). `noRetry` ignores a hook URL's `#rc=` retry fragment, so nothing is ever retried.
 */
export interface JambonzFaultOptions extends DeliveryFaultOptions {
  /** The first `count` attempts of every REST request (same method, path and body) get this status instead of running. */
  failFirstCommandAttempts?: {
    status: 429 | 480 | 500 | 503;
    count: number;
    share?: number;
    retryAfterSeconds?: number;
  };
  /** Send every call:status hook twice (jambonz itself does not; for testing de-duplication). */
  duplicateStatusHooks?: boolean;
  /** Random delay before each hook's first attempt, real milliseconds. @default [0, 0] */
  hookDelayMs?: [number, number];
}

export type JambonzCallStatus =
  | 'trying'
  | 'ringing'
  | 'early-media'
  | 'in-progress'
  | 'completed'
  | 'failed'
  | 'busy'
  | 'no-answer';

export interface JambonzStreamRecord {
  /** The `listen` WebSocket URL (or a `config` background stream's). */
  url: string;
  /** Whether the socket accepted the connection. */
  connected: boolean;
  /** Simulated seconds streamed, as `dial_call_duration` reports them; set once the stream ended. */
  seconds?: number;
  /** Bytes of audio sent over the socket. */
  audioBytes: number;
  background: boolean;
}

export interface JambonzCallRecord {
  callSid: string;
  /** SIP Call-ID of the feature server's leg. */
  callId: string;
  direction: 'inbound' | 'outbound';
  from: string;
  to: string;
  /** Set on legs a `dial` created. */
  parentCallSid?: string;
  /** The last status jambonz reported (a call rejected without a status hook stays `trying`). */
  status: JambonzCallStatus;
  sipStatus: number;
  answered: boolean;
  ended: boolean;
  callTerminationBy?: 'caller' | 'jambonz';
  /** Simulated seconds from answer to hang-up. */
  durationSeconds?: number;
  customerData?: Record<string, unknown>;
  /** Every prompt played to this leg (say text, audio URLs, whispers, beeps), in order. */
  heard: string[];
  /** Every DTMF digit the scripted caller pressed, in order. */
  digitsPressed: string;
  /** Digits jambonz sent to the far end (`dtmf` verb, Live Call Control `dtmf`). */
  dtmfSent: string;
  streams: JambonzStreamRecord[];
  /** The queue the leg waits in now. */
  queue?: string;
  /** call_sid of the leg this one is (or was last) bridged with. */
  bridgedWith?: string;
  /** The verbs the feature server ran on this leg, in order. */
  verbs: string[];
  /** A one-line summary, e.g. "answered, pressed 1, bridged to +15550002000, caller hung up". */
  outcome: string;
}

/** One REST request the api server received. */
export interface JambonzCommandLogEntry {
  /** ISO time the request arrived. */
  at: string;
  method: string;
  path: string;
  action: 'updateCall' | 'createCall' | 'getCall' | 'listCalls';
  callSid?: string;
  body: unknown;
  /** The HTTP status answered. */
  status: number;
  /** The JSON answered, if any. */
  response?: unknown;
}

export type JambonzHookType = 'session:new' | 'session:redirect' | 'verb:hook' | 'call:status';

/** One hook the feature server sent, with its answer. */
export interface JambonzHookDelivery {
  id: string;
  type: JambonzHookType;
  callSid: string;
  /** The URL requested (without a `#rc=` retry fragment). */
  url: string;
  method: 'GET' | 'POST';
  /** The exact JSON that was signed (and sent, for POST). */
  body: string;
  status: 'pending' | 'answered' | 'failed';
  attempts: number;
  httpStatus?: number;
  /** Why the last attempt failed (timeout, connection refused, HTTP status). */
  error?: string;
  /** The answer's body as text (verb hooks only; status hooks' answers are ignored). */
  response?: string;
  /** Why jambonz refused the verbs it got back (verb spec violation). */
  invalidVerbs?: string;
  /** The second copy sent because of the `duplicateStatusHooks` fault. */
  duplicate: boolean;
  sentAt: string;
  /** ISO time of the latest attempt. */
  lastAttemptAt?: string;
  answeredAt?: string;
  /** The `reorderWebhooks` fault held this status hook back on its own random delay. */
  reordered?: boolean;
  /** The `dropWebhooks` fault lost this status hook: never sent (status `failed`). */
  dropped?: boolean;
  /** The `noRetry` fault refused a retry the hook URL's `#rc=` fragment asked for. */
  notRetried?: boolean;
}

export interface JambonzSimulator
  extends SimulatorHandle<JambonzCallRecord, JambonzCommandLogEntry, JambonzHookDelivery> {
  /** e.g. http://127.0.0.1:PORT/v1 (what JAMBONZ_API_BASE_URL is set to). */
  readonly baseUrl: string;
  readonly accountSid: string;
  readonly applicationSid: string;
  placeInboundCall(script: CallerScript): Promise<{ callSid: string }>;
}
