import { randomUUID, sign } from 'node:crypto';
import Fastify from 'fastify';
import { createGatewayMetrics, instrumentGateway } from '../../../src/gateway/metrics';
import { hookUrl } from '../../../src/providers/jambonz';
import { signatureHeader } from '../../../src/simulator/jambonz/hooks';
import { legPayload, telnyxAccount, telnyxEvent } from '../../support/telnyx-client';
import { buildTestGateway, type TestGateway } from './helper';

/**
 * `GET /metrics` on the real gateway whose Temporal does not answer: the counters move for what the webhooks
 * really got (401, 400, 503, a hold), the hand-over to Temporal is timed, REST requests are counted by route
 * pattern, and the endpoint sits behind the `metrics` scope.
 */

const BASE = 'https://gw.example.com';
const JAMBONZ_SECRET = 'jambonz-webhook-secret';
const SCRAPER = 'metrics-only-key-0123456789';
const READER = 'read-only-key-0123456789ab';
const telnyx = telnyxAccount();

let gateway: TestGateway;
beforeAll(async () => {
  gateway = await buildTestGateway({
    TELNYX_PUBLIC_KEY: telnyx.publicKey,
    JAMBONZ_WEBHOOK_SECRET: JAMBONZ_SECRET,
    PUBLIC_BASE_URL: BASE,
    API_KEYS: `${SCRAPER}:metrics,${READER}:read`,
  });
});
afterAll(() => gateway.app.close());

const post = (url: string, raw: string, headers: Record<string, string>) =>
  gateway.app.inject({
    method: 'POST',
    url,
    headers: { 'content-type': 'application/json', ...headers },
    payload: raw,
  });

async function scrape(): Promise<string> {
  const res = await gateway.app.inject({
    method: 'GET',
    url: '/metrics',
    headers: { authorization: `Bearer ${SCRAPER}` },
  });
  expect(res.statusCode).toBe(200);
  expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
  return res.body;
}

/** The value of one series in the exposition text (0 when absent). */
function value(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

/** Runs `act` and returns how much each series moved. */
async function delta(series: string[], act: () => Promise<void>): Promise<number[]> {
  const before = await scrape();
  await act();
  const after = await scrape();
  return series.map((s) => value(after, s) - value(before, s));
}

const telnyxSigned = (raw: string, privateKey = telnyx.privateKey) => {
  const timestamp = String(Math.floor(Date.now() / 1000));
  return {
    'telnyx-timestamp': timestamp,
    'telnyx-signature-ed25519': sign(null, Buffer.from(`${timestamp}|${raw}`), privateKey).toString('base64'),
  };
};
const initiated = () =>
  JSON.stringify(telnyxEvent('call.initiated', legPayload(`v3:${randomUUID()}`, { direction: 'incoming' })));
const jambonzCall = () =>
  JSON.stringify({
    call_sid: randomUUID(),
    direction: 'inbound',
    from: '+15557779101',
    to: '+15550001000',
    call_id: `${randomUUID()}@10.0.1.5`,
    sip_status: 100,
    call_status: 'trying',
    account_sid: '9351f46a-678c-43f5-b8a6-d4eb58d131af',
  });

describe('webhook counters', () => {
  it('count a forged Telnyx webhook as a signature failure, and a signed one Temporal did not take as unavailable', async () => {
    const raw = initiated();
    const moved = await delta(
      [
        'durable_calls_webhooks_total{carrier="telnyx",outcome="invalid_signature"}',
        'durable_calls_webhook_signature_failures_total{carrier="telnyx"}',
        'durable_calls_webhooks_total{carrier="telnyx",outcome="unavailable"}',
        'durable_calls_handover_seconds_count{carrier="telnyx",rpc="signalWithStart",result="failed"}',
      ],
      async () => {
        expect((await post('/webhooks/telnyx', raw, telnyxSigned(raw, telnyxAccount().privateKey))).statusCode).toBe(
          401,
        );
        expect((await post('/webhooks/telnyx', raw, telnyxSigned(raw))).statusCode).toBe(503);
      },
    );
    expect(moved).toEqual([1, 1, 1, 1]);
  });

  it('tell a bad jambonz hook token (unauthorized) from a bad signature, and count a body it cannot read as malformed', async () => {
    const raw = jambonzCall();
    const workflowId = `call:jambonz:${randomUUID()}`;
    const forged = new URL(hookUrl(BASE, 'another-secret', workflowId, 'gather', `${workflowId}#2`));
    const moved = await delta(
      [
        'durable_calls_webhooks_total{carrier="jambonz",outcome="unauthorized"}',
        'durable_calls_webhook_signature_failures_total{carrier="jambonz"}',
        'durable_calls_webhooks_total{carrier="jambonz",outcome="malformed"}',
      ],
      async () => {
        const sig = { 'jambonz-signature': signatureHeader(JAMBONZ_SECRET, raw) };
        expect((await post(forged.pathname + forged.search, raw, sig)).statusCode).toBe(401);
        const junk = { 'jambonz-signature': signatureHeader(JAMBONZ_SECRET, 'not json') };
        expect((await post('/webhooks/jambonz?hook=call', 'not json', junk)).statusCode).toBe(400);
      },
    );
    expect(moved).toEqual([1, 0, 1]);
  });

  it('count a jambonz call held because Temporal did not take it as held, with its reason', async () => {
    const raw = jambonzCall();
    const moved = await delta(
      [
        'durable_calls_webhooks_total{carrier="jambonz",outcome="held"}',
        'durable_calls_holds_served_total{carrier="jambonz",reason="temporal_unavailable"}',
        'durable_calls_webhooks_total{carrier="jambonz",outcome="ok"}',
      ],
      async () => {
        const res = await post('/webhooks/jambonz?hook=call', raw, {
          'jambonz-signature': signatureHeader(JAMBONZ_SECRET, raw),
        });
        expect(res.statusCode).toBe(200);
        expect(res.json<Array<{ verb: string }>>().map((v) => v.verb)).toEqual(['pause', 'redirect']);
      },
    );
    expect(moved).toEqual([1, 1, 0]);
  });
});

describe('REST counters and /metrics access', () => {
  it('count REST requests by route pattern and status, and unknown paths as unmatched', async () => {
    const read = { authorization: `Bearer ${READER}` };
    const moved = await delta(
      [
        'durable_calls_rest_requests_total{method="GET",route="/calls/:id",status="503"}',
        'durable_calls_rest_requests_total{method="GET",route="/calls/:id",status="401"}',
        'durable_calls_rest_requests_total{method="GET",route="unmatched",status="404"}',
      ],
      async () => {
        const id = `call:telnyx:${randomUUID()}`;
        expect((await gateway.app.inject({ method: 'GET', url: `/calls/${id}`, headers: read })).statusCode).toBe(503);
        expect((await gateway.app.inject({ method: 'GET', url: `/calls/${id}` })).statusCode).toBe(401);
        expect((await gateway.app.inject({ method: 'GET', url: '/no-such-thing' })).statusCode).toBe(404);
      },
    );
    expect(moved).toEqual([1, 1, 1]);
    // Scrapes and probes are not REST traffic.
    expect(await scrape()).not.toMatch(/route="\/(metrics|healthz|readyz)"/);
  });

  it('serve /metrics to a key with the metrics scope only: 401 without one, 403 for a read key', async () => {
    expect((await gateway.app.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(401);
    const withReader = await gateway.app.inject({
      method: 'GET',
      url: '/metrics',
      headers: { authorization: `Bearer ${READER}` },
    });
    expect(withReader.statusCode).toBe(403);
    const scraperOnCalls = await gateway.app.inject({
      method: 'GET',
      url: `/calls/call:telnyx:${randomUUID()}`,
      headers: { authorization: `Bearer ${SCRAPER}` },
    });
    expect(scraperOnCalls.statusCode).toBe(403);
    expect(await scrape()).toMatch(/^process_cpu_user_seconds_total /m);
  });

  it('serve /metrics without keys to loopback only, like the REST API', async () => {
    const open = await buildTestGateway({ TELNYX_PUBLIC_KEY: telnyx.publicKey });
    try {
      expect((await open.app.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(200);
      const remote = await open.app.inject({ method: 'GET', url: '/metrics', remoteAddress: '203.0.113.7' });
      expect(remote.statusCode).toBe(401);
    } finally {
      await open.app.close();
    }
  });
});

describe('deadline misses', () => {
  it("count a webhook answered after its carrier's deadline, and not one answered in time", async () => {
    const metrics = createGatewayMetrics({ processMetrics: false });
    const app = Fastify();
    instrumentGateway(app, metrics, { telnyx: 50 });
    app.post('/webhooks/telnyx', async (request) => {
      await new Promise((r) => setTimeout(r, (request.query as { wait?: string }).wait === 'long' ? 120 : 0));
      return { status: 'accepted' };
    });
    await app.ready();
    try {
      await app.inject({ method: 'POST', url: '/webhooks/telnyx?wait=short', payload: {} });
      expect(await metrics.deadlineMisses.get()).toMatchObject({ values: [] });
      await app.inject({ method: 'POST', url: '/webhooks/telnyx?wait=long', payload: {} });
      expect((await metrics.deadlineMisses.get()).values).toEqual([
        expect.objectContaining({ labels: { carrier: 'telnyx' }, value: 1 }),
      ]);
      expect((await metrics.webhooks.get()).values).toEqual([
        expect.objectContaining({ labels: { carrier: 'telnyx', outcome: 'ok' }, value: 2 }),
      ]);
    } finally {
      await app.close();
    }
  });
});
