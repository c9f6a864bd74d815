import { createPrivateKey, generateKeyPairSync, randomUUID, sign, type KeyObject } from 'node:crypto';
import { Agent, request } from 'undici';
import { CALLBACK_MAX_ATTEMPTS, Lanes, queueInLane } from '../callback-lanes';
import { REAL_TIME, Timers } from '../clock';
import { DeliveryFaults } from '../delivery-faults';
import type { DeliveredWebhook } from './types';

/**
 * Telnyx webhooks: payload builders, Ed25519 signing and delivery with retries, the way Telnyx sends them.
 */

export type TelnyxEventType =
  | 'call.initiated'
  | 'call.answered'
  | 'call.hangup'
  | 'call.bridged'
  | 'call.dtmf.received'
  | 'call.gather.ended'
  | 'call.speak.started'
  | 'call.speak.ended'
  | 'call.playback.started'
  | 'call.playback.ended'
  | 'call.recording.saved'
  | 'call.enqueued'
  | 'call.dequeued'
  | 'call.fork.started'
  | 'call.fork.stopped'
  | 'call.machine.detection.ended'
  | 'call.machine.greeting.ended'
  | 'call.machine.premium.detection.ended'
  | 'call.machine.premium.greeting.ended'
  // Detection and media (issue 10 item 4).
  | 'streaming.started'
  | 'streaming.stopped'
  | 'call.refer.started'
  | 'call.refer.completed'
  | 'call.refer.failed';

/** Programmable Fax webhooks (faxes sent and received), built by the fax engine. */
export type TelnyxFaxEventType =
  | 'fax.queued'
  | 'fax.media.processed'
  | 'fax.sending.started'
  | 'fax.delivered'
  | 'fax.failed'
  // Received faxes (documented, not in the spec).
  | 'fax.receiving.started'
  | 'fax.media.processing.started'
  | 'fax.received';

/**
 * Which common fields each event's payload schema declares: media, queue, recording and fork events carry
 * no `from`/`to`, and `call.recording.saved` has no `call_control_id` (correlate it by `call_leg_id`).
 */
const COMMON_FIELDS: Record<TelnyxEventType, { controlId: boolean; parties: boolean }> = {
  'call.initiated': { controlId: true, parties: true },
  'call.answered': { controlId: true, parties: true },
  'call.hangup': { controlId: true, parties: true },
  'call.bridged': { controlId: true, parties: true },
  'call.dtmf.received': { controlId: true, parties: true },
  'call.gather.ended': { controlId: true, parties: true },
  'call.speak.started': { controlId: true, parties: false },
  'call.speak.ended': { controlId: true, parties: false },
  'call.playback.started': { controlId: true, parties: false },
  'call.playback.ended': { controlId: true, parties: false },
  'call.recording.saved': { controlId: false, parties: false },
  'call.enqueued': { controlId: true, parties: false },
  'call.dequeued': { controlId: true, parties: false },
  'call.fork.started': { controlId: true, parties: false },
  'call.fork.stopped': { controlId: true, parties: false },
  'call.machine.detection.ended': { controlId: true, parties: true },
  'call.machine.greeting.ended': { controlId: true, parties: true },
  'call.machine.premium.detection.ended': { controlId: true, parties: true },
  'call.machine.premium.greeting.ended': { controlId: true, parties: true },
  // Detection and media (issue 10 item 4).
  'streaming.started': { controlId: true, parties: false },
  'streaming.stopped': { controlId: true, parties: false },
  'call.refer.started': { controlId: true, parties: true },
  'call.refer.completed': { controlId: true, parties: true },
  'call.refer.failed': { controlId: true, parties: true },
};

/** What every webhook of a leg says about the leg. */
export interface LegIdentity {
  callControlId: string;
  callLegId: string;
  callSessionId: string;
  connectionId: string;
  /** The latest client_state set on the leg; echoed on every webhook. */
  clientState?: string;
  from: string;
  to: string;
}

export interface TelnyxWebhookBody {
  data: {
    record_type: 'event';
    event_type: TelnyxEventType | TelnyxFaxEventType;
    id: string;
    occurred_at: string;
    payload: Record<string, unknown>;
  };
}

export function buildWebhook(
  eventType: TelnyxEventType,
  leg: LegIdentity,
  fields: Record<string, unknown> = {},
  occurredAt = new Date(),
): TelnyxWebhookBody {
  const shape = COMMON_FIELDS[eventType];
  const payload: Record<string, unknown> = {
    call_control_id: shape.controlId ? leg.callControlId : undefined,
    call_leg_id: leg.callLegId,
    call_session_id: leg.callSessionId,
    client_state: leg.clientState,
    connection_id: leg.connectionId,
    from: shape.parties ? leg.from : undefined,
    to: shape.parties ? leg.to : undefined,
    ...fields,
  };
  for (const key of Object.keys(payload)) if (payload[key] === undefined) delete payload[key];
  return {
    data: {
      record_type: 'event',
      event_type: eventType,
      id: randomUUID(),
      occurred_at: occurredAt.toISOString(),
      payload,
    },
  };
}

// --- signing ---------------------------------------------------------------------------------------------

/** DER prefix of a PKCS8 Ed25519 private key; the 32-byte seed follows it. */
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

export interface WebhookSigningKey {
  privateKey: KeyObject;
  /** Base64 of the 32 raw public-key bytes, the form the Telnyx portal shows. */
  publicKeyBase64: string;
}

/** Loads a PKCS8 PEM, base64 PKCS8 DER or base64 32-byte seed; generates a new key when none is given. */
export function loadOrCreateSigningKey(privateKey?: string): WebhookSigningKey {
  let key: KeyObject;
  if (!privateKey) {
    key = generateKeyPairSync('ed25519').privateKey;
  } else if (privateKey.includes('-----BEGIN')) {
    key = createPrivateKey(privateKey);
  } else {
    const bytes = Buffer.from(privateKey.trim(), 'base64');
    const der = bytes.length === 32 ? Buffer.concat([ED25519_PKCS8_PREFIX, bytes]) : bytes;
    key = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  }
  if (key.asymmetricKeyType !== 'ed25519')
    throw new Error(`webhook signing key must be Ed25519, got ${key.asymmetricKeyType}`);
  const jwk = key.export({ format: 'jwk' });
  if (!jwk.x) throw new Error('cannot derive the Ed25519 public key');
  return { privateKey: key, publicKeyBase64: Buffer.from(jwk.x, 'base64url').toString('base64') };
}

/** base64(Ed25519 signature over UTF-8 `"<timestamp>|<raw body>"`), the `telnyx-signature-ed25519` header. */
export function signWebhook(privateKey: KeyObject, timestamp: string, rawBody: Buffer): string {
  return sign(null, Buffer.concat([Buffer.from(`${timestamp}|`, 'utf8'), rawBody]), privateKey).toString('base64');
}

// --- delivery --------------------------------------------------------------------------------------------

const ATTEMPT_TIMEOUT_MS = 10_000;
const NO_FAULTS = new DeliveryFaults();

export interface WebhookDispatcherOptions {
  signingKey: KeyObject;
  /** Random delay before each webhook's first attempt, in real ms. */
  delayMs: [number, number];
  /** Send every webhook twice. */
  duplicate: boolean;
  /** Reordering, no retries, lost webhooks. */
  faults?: DeliveryFaults;
  /** Spec violations of a body, recorded and logged (they would be simulator bugs). */
  validate?: (rawBody: string) => string[];
  log: (line: string) => void;
}

export class WebhookDispatcher {
  private readonly agent = new Agent({ keepAliveTimeout: 10_000, connect: { timeout: 5_000 } });
  /** The webhooks of one leg: first attempts go out one after another, so they normally arrive in order. */
  private readonly lanes = new Lanes();
  private readonly records: DeliveredWebhook[] = [];
  private readonly timers = new Timers(REAL_TIME, 'never');
  private closed = false;

  constructor(private readonly options: WebhookDispatcherOptions) {}

  /**
   * Queues a webhook for the lane (a call_leg_id). `url` is read at every attempt, so a URL set later
   * (or a gateway that comes back) is picked up by retries.
   */
  send(laneKey: string, url: () => string | undefined, body: TelnyxWebhookBody): void {
    if (this.closed) return;
    const raw = JSON.stringify(body);
    const specErrors = this.options.validate?.(raw) ?? [];
    if (specErrors.length > 0) {
      this.options.log(`BUG: ${body.data.event_type} breaks the spec: ${specErrors.join('; ')}`);
    }
    const copies = this.options.duplicate ? 2 : 1;
    const faults = this.options.faults ?? NO_FAULTS;
    for (let copy = 0; copy < copies; copy++) {
      const record: DeliveredWebhook = {
        eventId: body.data.id,
        eventType: body.data.event_type,
        callControlId: body.data.payload.call_control_id as string | undefined,
        callLegId: laneKey,
        body: raw,
        duplicate: copy > 0,
        status: 'pending',
        attempts: 0,
        specErrors,
      };
      this.records.push(record);
      if (faults.dropped([record.eventType])) {
        record.status = 'failed';
        record.dropped = true;
        record.lastError = 'lost (dropWebhooks fault)';
        this.options.log(`dropped ${record.eventType} ${record.eventId} (dropWebhooks fault)`);
        continue;
      }
      const reorderDelayMs = faults.reorderDelayMs();
      record.reordered = reorderDelayMs !== undefined;
      queueInLane(this.lanes, laneKey, this.timers, {
        delayMs: this.options.delayMs,
        reorderDelayMs,
        noRetry: faults.noRetry,
        attempt: async () => ((await this.attempt(record, url)) ? 'delivered' : 'retry'),
        attempts: () => record.attempts,
        giveUp: () => {
          record.status = 'failed';
          record.notRetried = faults.noRetry && record.attempts < CALLBACK_MAX_ATTEMPTS;
          this.options.log(`gave up on ${record.eventType} ${record.eventId} after ${record.attempts} attempts`);
        },
        log: this.options.log,
      });
    }
  }

  /** Keeps the lane busy until the returned function is called (for webhooks that follow a little later). */
  hold(laneKey: string): () => void {
    return this.lanes.hold(laneKey);
  }

  /** Resolves once every webhook of the lane was delivered or given up. */
  idle(laneKey: string): Promise<void> {
    return this.lanes.idle(laneKey);
  }

  list(): DeliveredWebhook[] {
    return this.records.map((record) => ({ ...record }));
  }

  async close(): Promise<void> {
    this.closed = true;
    this.timers.close();
    this.lanes.close();
    await this.agent.destroy();
  }

  private async attempt(record: DeliveredWebhook, url: () => string | undefined): Promise<boolean> {
    if (this.closed) return false;
    record.attempts++;
    record.lastAttemptAt = new Date().toISOString();
    record.firstAttemptAt ??= record.lastAttemptAt;
    const target = url();
    record.url = target;
    if (!target) {
      record.lastError = 'no webhook URL configured';
      return false;
    }
    // Telnyx signs at send time, so each attempt carries a fresh timestamp over the same bytes.
    const rawBody = Buffer.from(record.body, 'utf8');
    const timestamp = String(Math.floor(Date.now() / 1000));
    try {
      const response = await request(target, {
        method: 'POST',
        body: rawBody,
        headers: {
          'content-type': 'application/json',
          'user-agent': 'telnyx-webhooks',
          'telnyx-timestamp': timestamp,
          'telnyx-signature-ed25519': signWebhook(this.options.signingKey, timestamp, rawBody),
        },
        dispatcher: this.agent,
        headersTimeout: ATTEMPT_TIMEOUT_MS,
        bodyTimeout: ATTEMPT_TIMEOUT_MS,
      });
      await response.body.dump();
      record.lastStatusCode = response.statusCode;
      if (response.statusCode >= 200 && response.statusCode < 300) {
        record.status = 'delivered';
        record.deliveredAt = new Date().toISOString();
        record.lastError = undefined;
        return true;
      }
      record.lastError = `HTTP ${response.statusCode}`;
    } catch (err) {
      record.lastError = err instanceof Error ? err.message : String(err);
    }
    if (!this.closed) {
      this.options.log(`${record.eventType} to ${target}: attempt ${record.attempts} failed (${record.lastError})`);
    }
    return false;
  }
}
