import { generateKeyPairSync, randomUUID, sign, type KeyObject } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';

/** What any HTTP client posing as Telnyx needs in tests: an account key pair and signed webhook posts. */
export function telnyxAccount(): { privateKey: KeyObject; publicKey: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const der = publicKey.export({ format: 'der', type: 'spki' });
  return { privateKey, publicKey: der.subarray(der.length - 32).toString('base64') };
}

export function telnyxEvent(eventType: string, payload: Record<string, unknown>): { data: Record<string, unknown> } {
  return {
    data: {
      record_type: 'event',
      event_type: eventType,
      id: randomUUID(),
      occurred_at: new Date().toISOString(),
      payload,
    },
  };
}

/** A leg's common payload fields, as Telnyx sends them. */
export function legPayload(callControlId: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    call_control_id: callControlId,
    call_leg_id: `leg-${callControlId}`,
    call_session_id: `session-${callControlId}`,
    connection_id: '1684641123236054244',
    from: '+15557770100',
    to: '+15550001000',
    ...extra,
  };
}

export async function postWebhook(
  url: string,
  body: unknown,
  signing: { privateKey?: KeyObject; timestamp?: number; tamper?: (raw: string) => string } = {},
): Promise<{ status: number; body: any }> {
  const raw = typeof body === 'string' ? body : JSON.stringify(body);
  const timestamp = String(signing.timestamp ?? Math.floor(Date.now() / 1000));
  const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'telnyx-webhooks' };
  if (signing.privateKey) {
    headers['telnyx-timestamp'] = timestamp;
    headers['telnyx-signature-ed25519'] = sign(null, Buffer.from(`${timestamp}|${raw}`), signing.privateKey).toString(
      'base64',
    );
  }
  const res = await request(url, { method: 'POST', headers, body: signing.tamper ? signing.tamper(raw) : raw });
  const text = await res.body.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: res.statusCode, body: parsed };
}

export interface CapturedRequest {
  method: string;
  path: string;
  authorization?: string;
  body: any;
}

/** A stand-in Telnyx REST API that records every request and answers as Telnyx does on success. */
export async function captureCarrier(): Promise<{
  baseUrl: string;
  requests: CapturedRequest[];
  close(): Promise<void>;
}> {
  const requests: CapturedRequest[] = [];
  const server = http.createServer((req, res) => {
    let data = '';
    req.on('data', (chunk) => (data += chunk));
    req.on('end', () => {
      requests.push({
        method: req.method ?? '',
        path: req.url ?? '',
        authorization: req.headers.authorization,
        body: data ? JSON.parse(data) : undefined,
      });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ data: { result: 'ok' } }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/v2`,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
