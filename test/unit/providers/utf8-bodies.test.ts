import { randomUUID } from 'node:crypto';
import { normaliseJambonzWebhook } from '../../../src/providers/jambonz';
import {
  SIGNALWIRE_WEBHOOK_PATHS,
  normaliseDocumentRequest,
  signSignalWireRequest,
} from '../../../src/providers/signalwire';
import { normaliseTelnyxWebhook } from '../../../src/providers/telnyx';
import { MalformedWebhookError } from '../../../src/providers/types';
import { legPayload, telnyxEvent } from '../../support/telnyx-client';
import { buildTestGateway } from '../gateway/helper';

/**
 * A signed webhook whose call id is not valid Unicode can never be handed to Temporal (protobuf strings must be
 * UTF-8): each carrier's normaliser refuses it as malformed (the gateway's 400), so the carrier stops retrying.
 */

const MARK = 'CALL-ID-MARK';
const receivedAt = '2026-01-15T12:00:00.000Z';

/** The body with the call id's marker replaced by raw bytes: `a`, two bytes no UTF-8 has, `b`. */
function withInvalidBytes(json: string): Buffer {
  const [before, after] = json.split(MARK);
  return Buffer.concat([Buffer.from(before), Buffer.from([0x61, 0xff, 0xfe, 0x62]), Buffer.from(after)]);
}
/** The body with the call id's marker replaced by a JSON escape of a lone surrogate: valid bytes, invalid text. */
const withLoneSurrogate = (json: string) => Buffer.from(json.replace(MARK, 'a\\ud800b'));
const valid = (json: string) => Buffer.from(json.replace(MARK, randomUUID()));

const swmlFetch = JSON.stringify({
  call: { call_id: MARK, call_state: 'created', direction: 'inbound', from: '+15557770100', to: '+15550001000' },
  vars: {},
  envs: {},
  params: {},
});
const jambonzCall = JSON.stringify({
  call_sid: MARK,
  direction: 'inbound',
  from: '+15551230000',
  to: '+15559870000',
  call_id: '6c1d2e3f@10.0.0.5',
  call_status: 'trying',
  account_sid: '9351f46a-678c-43f5-b8a6-d4eb58d131af',
});
const telnyxInitiated = JSON.stringify(telnyxEvent('call.initiated', legPayload(MARK, { direction: 'incoming' })));

describe.each([
  ['signalwire normaliseDocumentRequest', swmlFetch, (raw: Buffer) => normaliseDocumentRequest(raw, receivedAt)],
  [
    'jambonz normaliseJambonzWebhook',
    jambonzCall,
    (raw: Buffer) => normaliseJambonzWebhook(raw, { hook: 'call', receivedAt }),
  ],
  ['telnyx normaliseTelnyxWebhook', telnyxInitiated, (raw: Buffer) => normaliseTelnyxWebhook(raw)],
] as const)('%s', (_name, json, normalise) => {
  it('reads the body when the call id is valid', () => {
    expect(() => normalise(valid(json))).not.toThrow();
  });

  it('refuses a call id of invalid UTF-8 bytes as malformed', () => {
    expect(() => normalise(withInvalidBytes(json))).toThrow(MalformedWebhookError);
    expect(() => normalise(withInvalidBytes(json))).toThrow(/not valid UTF-8/);
  });

  it('refuses a call id escaping a lone surrogate as malformed', () => {
    expect(() => normalise(withLoneSurrogate(json))).toThrow(/lone surrogate/);
  });
});

describe('the gateway', () => {
  it('answers a correctly signed SWML fetch with an invalid UTF-8 call id 400, without Temporal', async () => {
    const key = 'signalwire-signing-key';
    const base = 'https://gw.example.com';
    const gateway = await buildTestGateway({ SIGNALWIRE_SIGNING_KEY: key, PUBLIC_BASE_URL: base });
    try {
      const path = SIGNALWIRE_WEBHOOK_PATHS.document;
      for (const raw of [withInvalidBytes(swmlFetch), withLoneSurrogate(swmlFetch)]) {
        const res = await gateway.app.inject({
          method: 'POST',
          url: path,
          headers: {
            'content-type': 'application/json',
            'x-signalwire-signature': signSignalWireRequest(key, base + path, raw),
          },
          payload: raw,
        });
        expect(res.statusCode).toBe(400);
        expect(res.json()).toEqual({ error: 'malformed document fetch', reason: expect.any(String) });
      }
      expect(gateway.temporalCalls).toEqual([]);
    } finally {
      await gateway.app.close();
    }
  });
});
