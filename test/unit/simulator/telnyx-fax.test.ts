import {
  startTelnyxSimulator,
  validateTelnyxResponse,
  validateTelnyxWebhook,
  type TelnyxSimulator,
} from '../../../src/simulator';
import { encodeClientState } from '../../../src/providers/telnyx';
import {
  API_KEY,
  signatureIsValid,
  startReceiver,
  TelnyxClient,
  telnyxOptions,
  type ReceivedWebhook,
  type WebhookReceiver,
} from './telnyx-support';

/**
 * The simulated Programmable Fax API: requests and responses against the spec, the documented webhook sequence
 * (signed, spec-valid), the fax machines' outcomes, and cancel in the statuses the spec allows.
 */

const FAX_APP = 'fax-app-1';
const FROM = '+15550001000';
const MEDIA = 'https://files.example.com/contract.pdf';
const MACHINES = {
  '+15550009001': { outcome: 'success' as const, pages: 3 },
  '+15550009002': { outcome: 'busy' as const },
  '+15550009003': { outcome: 'failure' as const, failureReason: 'receiver_call_dropped', failOnPage: 2, pages: 4 },
  '+15550009004': { outcome: 'success' as const, pages: 50 },
  '+15550009005': { outcome: 'failure' as const, failureReason: 'file_download_failed' },
  '+15550009006': { outcome: 'success' as const, pages: 1, attemptsBeforeSuccess: 1 },
  '+15550009007': { outcome: 'success' as const, pages: 1, loseFinalWebhook: true },
};

let receiver: WebhookReceiver;
let sim: TelnyxSimulator;
let api: TelnyxClient;

beforeAll(async () => {
  receiver = await startReceiver();
  sim = await startTelnyxSimulator({ ...telnyxOptions(receiver), faxConnectionId: FAX_APP, faxes: MACHINES });
  api = new TelnyxClient(sim.baseUrl, API_KEY);
});

afterAll(async () => {
  // Every fax webhook the simulator sent matches its schema in the spec (closed: no undeclared field).
  for (const webhook of receiver.all) expect(validateTelnyxWebhook(webhook.raw.toString('utf8'))).toEqual([]);
  for (const webhook of sim.webhooks()) expect(webhook.specErrors).toEqual([]);
  await sim.close();
  await receiver.close();
});

const send = (to: string, extra: Record<string, unknown> = {}) =>
  api.call('POST', '/faxes', { connection_id: FAX_APP, from: FROM, to, media_url: MEDIA, ...extra });

async function sent(to: string, extra: Record<string, unknown> = {}): Promise<string> {
  const res = await send(to, extra);
  expect(res.status).toBe(202);
  expect(validateTelnyxResponse('/faxes', 'post', 202, res.body)).toEqual([]);
  return String(res.body.data.id);
}

const faxEvents = (faxId: string) => receiver.all.filter((w) => w.body.data.payload.fax_id === faxId);
const types = (faxId: string) => faxEvents(faxId).map((w) => w.body.data.event_type);
const ended = (faxId: string, final = ['fax.delivered', 'fax.failed']) =>
  receiver.waitFor((w) => w.body.data.payload.fax_id === faxId && final.includes(w.body.data.event_type), 10_000);

describe('Telnyx Programmable Fax (simulated)', () => {
  it('sends a fax: 202 with the Fax, then queued → media.processed → sending.started → delivered, signed', async () => {
    const clientState = encodeClientState({ wf: 'fax:one' });
    const faxId = await sent('+15550009001', { client_state: clientState, quality: 'very_high' });
    const delivered: ReceivedWebhook = await ended(faxId);
    expect(types(faxId)).toEqual(['fax.queued', 'fax.media.processed', 'fax.sending.started', 'fax.delivered']);
    expect(delivered.body.data.payload).toMatchObject({
      fax_id: faxId,
      status: 'delivered',
      page_count: 3,
      client_state: clientState,
      connection_id: FAX_APP,
      direction: 'outbound',
      original_media_url: MEDIA,
    });
    for (const webhook of faxEvents(faxId)) expect(signatureIsValid(sim.publicKeyBase64, webhook)).toBe(true);

    const view = await api.call('GET', `/faxes/${faxId}`);
    expect(view.status).toBe(200);
    expect(validateTelnyxResponse('/faxes/{id}', 'get', 200, view.body)).toEqual([]);
    expect(view.body.data).toMatchObject({
      id: faxId,
      status: 'delivered',
      client_state: clientState,
      to: '+15550009001',
    });
    expect(sim.faxes().find((f) => f.id === faxId)).toMatchObject({ pagesSent: 3, status: 'delivered' });
  });

  it('reports a busy line as fax.failed user_busy, and a later fax to it can succeed', async () => {
    const busy = await sent('+15550009002');
    expect((await ended(busy)).body.data.payload).toMatchObject({ status: 'failed', failure_reason: 'user_busy' });
    expect(types(busy)).toEqual(['fax.queued', 'fax.media.processed', 'fax.failed']);

    const first = await sent('+15550009006');
    expect((await ended(first)).body.data.payload.failure_reason).toBe('user_busy');
    const second = await sent('+15550009006');
    expect((await ended(second)).body.data.event_type).toBe('fax.delivered');
  });

  it('fails a transmission on the scripted page, and a media failure before dialling', async () => {
    const dropped = await sent('+15550009003');
    expect((await ended(dropped)).body.data.payload.failure_reason).toBe('receiver_call_dropped');
    expect(types(dropped)).toEqual(['fax.queued', 'fax.media.processed', 'fax.sending.started', 'fax.failed']);
    expect(sim.faxes().find((f) => f.id === dropped)?.pagesSent).toBe(1);

    const media = await sent('+15550009005');
    expect((await ended(media)).body.data.payload.failure_reason).toBe('file_download_failed');
    expect(types(media)).toEqual(['fax.queued', 'fax.failed']);
  });

  it('cancels a fax while it is sending (202), and refuses to cancel a finished one (422)', async () => {
    const faxId = await sent('+15550009004');
    await receiver.waitFor(
      (w) => w.body.data.payload.fax_id === faxId && w.body.data.event_type === 'fax.sending.started',
      10_000,
    );
    const cancel = await api.call('POST', `/faxes/${faxId}/actions/cancel`);
    expect(cancel.status).toBe(202);
    expect(validateTelnyxResponse('/faxes/{id}/actions/cancel', 'post', 202, cancel.body)).toEqual([]);
    expect(cancel.body.data).toEqual({ result: 'ok' });
    expect((await ended(faxId)).body.data.payload).toMatchObject({ status: 'failed' });
    expect(sim.faxes().find((f) => f.id === faxId)).toMatchObject({ cancelled: true, status: 'failed' });

    const again = await api.call('POST', `/faxes/${faxId}/actions/cancel`);
    expect(again.status).toBe(422);
    expect(validateTelnyxResponse('/faxes/{id}/actions/cancel', 'post', 422, again.body)).toEqual([]);
    expect(again.body.errors[0].detail).toMatch(/status failed/);
  });

  it('refuses bodies that break the spec or the account, with Telnyx error bodies', async () => {
    const noTo = await api.call('POST', '/faxes', { connection_id: FAX_APP, from: FROM, media_url: MEDIA });
    expect(noTo.status).toBe(422);
    expect(noTo.body.errors[0]).toMatchObject({ source: { pointer: '/to' } });
    expect(validateTelnyxResponse('/faxes', 'post', 422, noTo.body)).toEqual([]);

    const badQuality = await send('+15550009001', { quality: 'best' });
    expect(badQuality.status).toBe(422);
    expect(badQuality.body.errors[0].detail).toMatch(/normal, high/);

    const otherApp = await api.call('POST', '/faxes', {
      connection_id: 'not-ours',
      from: FROM,
      to: '+15550009001',
      media_url: MEDIA,
    });
    expect(otherApp.status).toBe(422);
    expect(otherApp.body.errors[0].source?.pointer).toBe('/connection_id');

    const noMedia = await api.call('POST', '/faxes', { connection_id: FAX_APP, from: FROM, to: '+15550009001' });
    expect(noMedia.status).toBe(422);
    expect(noMedia.body.errors[0].detail).toMatch(/media_url/);

    const notE164 = await send('5550009001');
    expect(notE164.status).toBe(422);

    const unauthorised = await new TelnyxClient(sim.baseUrl, 'KEY-wrong').call('GET', '/faxes');
    expect(unauthorised.status).toBe(401);
  });

  it('answers 404 for an unknown fax, lists faxes by number, refreshes and deletes', async () => {
    const unknown = '00000000-0000-4000-8000-000000000000';
    for (const [method, path] of [
      ['GET', `/faxes/${unknown}`],
      ['POST', `/faxes/${unknown}/actions/cancel`],
      ['POST', `/faxes/${unknown}/actions/refresh`],
      ['DELETE', `/faxes/${unknown}`],
    ] as const) {
      const res = await api.call(method, path);
      expect([method, path, res.status]).toEqual([method, path, 404]);
      expect(res.body.errors[0]).toMatchObject({ code: '404', title: 'Not Found' });
    }

    const faxId = await sent('+15550009001');
    const list = await api.call('GET', `/faxes?filter[to][eq]=${encodeURIComponent('+15550009001')}`);
    expect(list.status).toBe(200);
    expect(validateTelnyxResponse('/faxes', 'get', 200, list.body)).toEqual([]);
    const listed = list.body.data as unknown as Array<{ id: string; to: string }>;
    expect(listed.map((f) => f.id)).toContain(faxId);
    expect(new Set(listed.map((f) => f.to))).toEqual(new Set(['+15550009001']));

    // A sent fax has no received media to renew (the spec's `default` error).
    const refresh = await api.call('POST', `/faxes/${faxId}/actions/refresh`);
    expect(refresh.status).toBe(422);
    expect(validateTelnyxResponse('/faxes/{id}/actions/refresh', 'post', 422, refresh.body)).toEqual([]);

    await ended(faxId);
    expect((await api.call('DELETE', `/faxes/${faxId}`)).status).toBe(204);
    expect((await api.call('GET', `/faxes/${faxId}`)).status).toBe(404);
  });

  it('receives a fax: receiving.started → media.processing.started → received, with a media_url refresh renews', async () => {
    const { faxId } = sim.receiveFax({ from: '+15550007000', to: FROM, pages: 2 });
    const done = await ended(faxId, ['fax.received']);
    expect(types(faxId)).toEqual(['fax.receiving.started', 'fax.media.processing.started', 'fax.received']);
    expect(done.body.data.payload).toMatchObject({ direction: 'inbound', page_count: 2, partial_content: false });
    for (const webhook of faxEvents(faxId)) expect(signatureIsValid(sim.publicKeyBase64, webhook)).toBe(true);
    const firstUrl = String(done.body.data.payload.media_url);

    const view = async () => {
      const res = await api.call('GET', `/faxes/${faxId}`);
      expect(validateTelnyxResponse('/faxes/{id}', 'get', 200, res.body)).toEqual([]);
      return res.body.data as { status: string; direction: string; media_url: string };
    };
    expect(await view()).toMatchObject({ status: 'received', direction: 'inbound', media_url: firstUrl });
    const refresh = await api.call('POST', `/faxes/${faxId}/actions/refresh`);
    expect(refresh.status).toBe(200);
    expect(validateTelnyxResponse('/faxes/{id}/actions/refresh', 'post', 200, refresh.body)).toEqual([]);
    const renewed = (await view()).media_url;
    expect(renewed).not.toBe(firstUrl);
    expect(sim.faxes().find((f) => f.id === faxId)).toMatchObject({ direction: 'inbound', refreshes: 1 });
    const inbound = await api.call('GET', '/faxes?filter[direction][eq]=inbound');
    expect((inbound.body.data as unknown as Array<{ id: string }>).map((f) => f.id)).toEqual([faxId]);
  });

  it('loses a scripted final webhook: only GET /faxes/{id} tells the outcome', async () => {
    const faxId = await sent('+15550009007');
    await receiver.waitFor(
      (w) => w.body.data.payload.fax_id === faxId && w.body.data.event_type === 'fax.sending.started',
      10_000,
    );
    await new Promise((r) => setTimeout(r, 200));
    expect((await api.call('GET', `/faxes/${faxId}`)).body.data).toMatchObject({ status: 'delivered' });
    expect(types(faxId)).not.toContain('fax.delivered');
    expect(sim.faxes().find((f) => f.id === faxId)).toMatchObject({ lostWebhooks: ['fax.delivered'] });
  });

  it('logs every fax request with its status and fax id', () => {
    const log = sim.commands().filter((c) => c.action.endsWith('_fax') || c.action === 'list_faxes');
    const sends = log.filter((c) => c.action === 'send_fax' && c.status === 202);
    expect(sends.length).toBeGreaterThanOrEqual(8);
    for (const entry of sends) expect(entry.faxId).toMatch(/^[0-9a-f-]{36}$/);
    expect(log.some((c) => c.action === 'cancel_fax' && c.status === 422)).toBe(true);
  });
});
