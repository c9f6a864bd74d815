import { createPublicKey, verify } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TelnyxSimulatorOptions } from '../../../src/simulator';
import { sendJson } from './service-support';
import { Arrivals } from './wait';

/**
 * Test helpers: a webhook receiver standing in for the gateway, and a small client that talks to the
 * simulator's REST API the way an app does.
 */

export const API_KEY = 'KEY-test';
export const TIME_SCALE = 0.01;

/** Simulator options for the test key, at the test's time scale, sending webhooks to `receiver`. */
export function telnyxOptions(receiver: WebhookReceiver): TelnyxSimulatorOptions {
  return { webhookUrl: receiver.url, apiKey: API_KEY, timeScale: TIME_SCALE };
}

export interface ReceivedWebhook {
  headers: IncomingHttpHeaders;
  raw: Buffer;
  body: { data: { event_type: string; id: string; occurred_at: string; payload: Record<string, unknown> } };
  /** The HTTP status the receiver answered. */
  answered: number;
}

export interface WebhookReceiver {
  url: string;
  /** Every request received, including the ones answered with an error. */
  all: ReceivedWebhook[];
  /** Answer the next `count` requests with `status`. */
  failNext(count: number, status: number): void;
  /** Accepted webhooks (2xx) of one leg (by call_control_id or call_leg_id), optionally of one type, in arrival order. */
  events(legId: string, eventType?: string): ReceivedWebhook[];
  /** Waits until an accepted webhook matches. */
  waitFor(match: (webhook: ReceivedWebhook) => boolean, timeoutMs?: number): Promise<ReceivedWebhook>;
  waitForEvent(callControlId: string, eventType: string, timeoutMs?: number): Promise<ReceivedWebhook>;
  close(): Promise<void>;
}

export async function startReceiver(): Promise<WebhookReceiver> {
  const all: ReceivedWebhook[] = [];
  const arrivals = new Arrivals();
  let failures: { count: number; status: number } = { count: 0, status: 200 };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const answered = failures.count > 0 ? failures.status : 200;
      if (failures.count > 0) failures.count--;
      all.push({ headers: req.headers, raw, body: JSON.parse(raw.toString('utf8')), answered });
      res.statusCode = answered;
      res.end();
      arrivals.notify();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const accepted = () => all.filter((w) => w.answered < 300);
  const receiver: WebhookReceiver = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks/telnyx`,
    all,
    failNext(count, status) {
      failures = { count, status };
    },
    events(legId, eventType) {
      return accepted().filter(
        (w) =>
          (w.body.data.payload.call_control_id === legId || w.body.data.payload.call_leg_id === legId) &&
          (eventType === undefined || w.body.data.event_type === eventType),
      );
    },
    waitFor: (match, timeoutMs = 5_000) => arrivals.waitFor(() => accepted().find(match), timeoutMs, 'a webhook'),
    waitForEvent(callControlId, eventType, timeoutMs) {
      return receiver.waitFor(
        (w) => w.body.data.event_type === eventType && w.body.data.payload.call_control_id === callControlId,
        timeoutMs,
      );
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  return receiver;
}

/** Verifies a webhook's Ed25519 signature the way the Telnyx SDK does, with the portal's base64 public key. */
export function signatureIsValid(publicKeyBase64: string, webhook: ReceivedWebhook): boolean {
  const signature = webhook.headers['telnyx-signature-ed25519'];
  const timestamp = webhook.headers['telnyx-timestamp'];
  if (typeof signature !== 'string' || typeof timestamp !== 'string') return false;
  const key = createPublicKey({
    key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(publicKeyBase64, 'base64').toString('base64url') },
    format: 'jwk',
  });
  const signed = Buffer.concat([Buffer.from(`${timestamp}|`, 'utf8'), webhook.raw]);
  return verify(null, signed, key, Buffer.from(signature, 'base64'));
}

export interface ApiResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** `data` on success, `errors` otherwise (Telnyx's shapes). */
  body: {
    data: Record<string, unknown>;
    errors: Array<{ code: string; title: string; detail?: string; source?: { pointer?: string } }>;
  };
}

/** Calls the simulator's REST API like an app: Bearer key, JSON body. */
export class TelnyxClient {
  constructor(
    private readonly baseUrl: string,
    private readonly apiKey: string | undefined,
  ) {}

  async call(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown): Promise<ApiResponse> {
    const auth: Record<string, string> = this.apiKey === undefined ? {} : { authorization: `Bearer ${this.apiKey}` };
    const answer = await sendJson(`${this.baseUrl}${path}`, method, auth, body);
    return { status: answer.status, headers: answer.headers, body: answer.text ? JSON.parse(answer.text) : undefined };
  }

  action(callControlId: string, action: string, body: Record<string, unknown> = {}): Promise<ApiResponse> {
    const method = action === 'client_state_update' ? 'PUT' : 'POST';
    return this.call(method, `/calls/${encodeURIComponent(callControlId)}/actions/${action}`, body);
  }

  dial(body: Record<string, unknown>): Promise<ApiResponse> {
    return this.call('POST', '/calls', body);
  }
}

export { sleep } from './wait';
