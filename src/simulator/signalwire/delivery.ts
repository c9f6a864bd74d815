import { Agent, request } from 'undici';
import { signSignalWireRequest } from '../../providers/signalwire';
import { CALLBACK_MAX_ATTEMPTS, Lanes, queueInLane, type AttemptVerdict } from '../callback-lanes';
import { REAL_TIME, Timers } from '../clock';
import { DeliveryFaults } from '../delivery-faults';
import type { SignalWireDelivery } from './types';

/**
 * Everything the simulator sends to our service: SWML document fetches (signed, answered with the next
 * document) and status callbacks (fire-and-forget, retried until accepted), each recorded with its outcome.
 */

const USER_AGENT = 'SignalWire-Simulator';

// Status callbacks are retried as the Telnyx simulator does (`callback-lanes`); SignalWire documents
// callbacks as best-effort and does not publish its retry policy.
/** Document fetches are retried on network errors and 5xx like a carrier would, then the call is given up. */
const FETCH_RETRY_DELAYS_MS = [100, 250, 500];
/** Longer than the gateway's wait for the flow's next step, which answers with a holding document after it. */
const ATTEMPT_TIMEOUT_MS = 10_000;

export interface DeliveryOptions {
  signingKey: string;
  /** Random delay before each status callback's first attempt, in real ms. */
  delayMs: [number, number];
  /** Send every status callback twice. */
  duplicate: boolean;
  /** Reordering and lost status callbacks; no retries of callbacks or document fetches. */
  faults?: DeliveryFaults;
  /** Schema violations of a status callback / fetch body, recorded and logged (they would be simulator bugs). */
  callbackErrors?: (body: unknown) => string[];
  fetchErrors?: (body: unknown) => string[];
  log: (line: string) => void;
}

export type FetchOutcome = { ok: true; text: string; contentType: string } | { ok: false; reason: string };

/** A status callback's JSON body (research notes §3). */
export interface StatusCallbackBody {
  event_type: string;
  event_channel: string;
  timestamp: number;
  project_id: string;
  space_id: string;
  params: Record<string, unknown>;
}

/** A URL's `user:pass@` becomes Basic auth, as SignalWire does for credentials in a callback URL. */
function target(url: string): { url: string; authorization?: string } {
  const parsed = new URL(url);
  if (!parsed.username && !parsed.password) return { url };
  const credentials = `${decodeURIComponent(parsed.username)}:${decodeURIComponent(parsed.password)}`;
  parsed.username = '';
  parsed.password = '';
  return { url: parsed.toString(), authorization: `Basic ${Buffer.from(credentials, 'utf8').toString('base64')}` };
}

export class Deliveries {
  private readonly agent = new Agent({ keepAliveTimeout: 10_000, connect: { timeout: 5_000 } });
  /** The callbacks of one call: first attempts go out one after another, so they normally arrive in order. */
  private readonly lanes = new Lanes();
  private readonly records: SignalWireDelivery[] = [];
  private readonly timers = new Timers(REAL_TIME, 'resolve');
  private closed = false;
  private readonly faults: DeliveryFaults;

  constructor(private readonly options: DeliveryOptions) {
    this.faults = options.faults ?? new DeliveryFaults();
  }

  /** Queues a status callback for the call's lane; the URL (with our routing token) is used unchanged. */
  sendCallback(callId: string, url: string, body: StatusCallbackBody): void {
    if (this.closed) return;
    const raw = JSON.stringify(body);
    const specErrors = this.options.callbackErrors?.(body) ?? [];
    if (specErrors.length > 0)
      this.options.log(`BUG: ${body.event_type} breaks its documented shape: ${specErrors.join('; ')}`);
    for (let copy = 0; copy < (this.options.duplicate ? 2 : 1); copy++) {
      const record = this.record('status-callback', body.event_type, callId, 'POST', url, raw, specErrors, copy > 0);
      const state = body.params.call_state ?? body.params.state;
      const kinds = [body.event_type, ...(typeof state === 'string' ? [`${body.event_type}:${state}`] : [])];
      if (this.faults.dropped(kinds)) {
        record.status = 'failed';
        record.dropped = true;
        record.lastError = 'lost (dropWebhooks fault)';
        this.options.log(`dropped ${kinds.at(-1)} for ${callId} (dropWebhooks fault)`);
        continue;
      }
      const reorderDelayMs = this.faults.reorderDelayMs();
      record.reordered = reorderDelayMs !== undefined;
      queueInLane(this.lanes, callId, this.timers, {
        delayMs: this.options.delayMs,
        reorderDelayMs,
        noRetry: this.faults.noRetry,
        attempt: () => this.attemptCallback(record),
        attempts: () => record.attempts,
        giveUp: () => {
          record.status = 'failed';
          record.notRetried = this.faults.noRetry && record.attempts < CALLBACK_MAX_ATTEMPTS;
          if (!this.closed)
            this.options.log(`gave up on ${record.eventType} for ${record.callId} after ${record.attempts} attempts`);
        },
        log: this.options.log,
      });
    }
  }

  /**
   * Fetches a SWML document: POSTs `body` signed over the full URL (query included) and the exact bytes,
   * or GETs the URL (`url_method: GET`) signed over the URL alone. Retries network errors and 5xx.
   */
  async fetchDocument(callId: string, url: string, method: 'GET' | 'POST', body: unknown): Promise<FetchOutcome> {
    const raw = method === 'POST' ? JSON.stringify(body) : '';
    const specErrors = method === 'POST' ? (this.options.fetchErrors?.(body) ?? []) : [];
    if (specErrors.length > 0) this.options.log(`BUG: SWML fetch body breaks the spec: ${specErrors.join('; ')}`);
    const record = this.record('swml-fetch', 'swml.fetch', callId, method, url, raw, specErrors, false);
    for (let retry = 0; ; retry++) {
      const outcome = await this.attemptFetch(record);
      const noRetry = this.faults.noRetry && !outcome.ok && outcome.retryable;
      if (outcome.ok || !outcome.retryable || noRetry || retry >= FETCH_RETRY_DELAYS_MS.length || this.closed) {
        record.status = outcome.ok ? 'delivered' : 'failed';
        if (noRetry) record.notRetried = true;
        return outcome.ok ? outcome : { ok: false, reason: outcome.reason };
      }
      await this.timers.sleep(FETCH_RETRY_DELAYS_MS[retry]);
    }
  }

  /** Resolves once every status callback of the call was delivered or given up. */
  idle(callId: string): Promise<void> {
    return this.lanes.idle(callId);
  }

  list(): SignalWireDelivery[] {
    return this.records.map((record) => ({ ...record, specErrors: [...record.specErrors] }));
  }

  async close(): Promise<void> {
    this.closed = true;
    this.timers.close();
    this.lanes.close();
    await this.agent.destroy();
  }

  private record(
    kind: SignalWireDelivery['kind'],
    eventType: string,
    callId: string,
    method: 'GET' | 'POST',
    url: string,
    body: string,
    specErrors: string[],
    duplicate: boolean,
  ): SignalWireDelivery {
    const record: SignalWireDelivery = {
      kind,
      eventType,
      callId,
      method,
      url,
      body,
      duplicate,
      status: 'pending',
      attempts: 0,
      specErrors,
    };
    this.records.push(record);
    return record;
  }

  /** One attempt; a network error or 5xx is worth another, a 4xx is final: the receiver refused the callback. */
  private async attemptCallback(record: SignalWireDelivery): Promise<AttemptVerdict> {
    const outcome = await this.attempt(record, { 'content-type': 'application/json' });
    if (outcome.ok) {
      record.status = 'delivered';
      return 'delivered';
    }
    return outcome.retryable && !this.closed ? 'retry' : 'final';
  }

  private attemptFetch(record: SignalWireDelivery) {
    const rawBody = Buffer.from(record.body, 'utf8');
    return this.attempt(record, {
      ...(record.method === 'POST' ? { 'content-type': 'application/json' } : {}),
      accept: 'application/json, application/yaml, text/yaml',
      'x-signalwire-signature': signSignalWireRequest(this.options.signingKey, record.url, rawBody, 'sha1'),
      'x-signalwire-sha256-signature': signSignalWireRequest(this.options.signingKey, record.url, rawBody, 'sha256'),
    });
  }

  private async attempt(
    record: SignalWireDelivery,
    headers: Record<string, string>,
  ): Promise<{ ok: true; text: string; contentType: string } | { ok: false; retryable: boolean; reason: string }> {
    if (this.closed) return { ok: false, retryable: false, reason: 'simulator closed' };
    record.attempts++;
    record.lastAttemptAt = new Date().toISOString();
    record.firstAttemptAt ??= record.lastAttemptAt;
    const destination = target(record.url);
    try {
      const response = await request(destination.url, {
        method: record.method,
        body: record.method === 'POST' ? record.body : undefined,
        headers: {
          ...headers,
          'user-agent': USER_AGENT,
          ...(destination.authorization ? { authorization: destination.authorization } : {}),
        },
        dispatcher: this.agent,
        headersTimeout: ATTEMPT_TIMEOUT_MS,
        bodyTimeout: ATTEMPT_TIMEOUT_MS,
      });
      const text = await response.body.text();
      record.lastStatusCode = response.statusCode;
      if (response.statusCode >= 200 && response.statusCode < 300) {
        record.deliveredAt = new Date().toISOString();
        record.lastError = undefined;
        const contentType = response.headers['content-type'];
        return { ok: true, text, contentType: typeof contentType === 'string' ? contentType : '' };
      }
      record.lastError = `HTTP ${response.statusCode}`;
    } catch (err) {
      record.lastError = err instanceof Error ? err.message : String(err);
      record.lastStatusCode = undefined;
    }
    if (!this.closed)
      this.options.log(`${record.eventType} to ${record.url}: attempt ${record.attempts} failed (${record.lastError})`);
    const status = record.lastStatusCode;
    return { ok: false, retryable: status === undefined || status >= 500, reason: record.lastError ?? 'failed' };
  }
}
