import { request } from 'undici';
import type { FaxResult, FaxState } from '../../src/calls';
import { decodeClientState } from '../../src/providers/telnyx';
import { eventually } from '../support/net';
import { startTestStack, type TestStack } from '../support/stack';

/**
 * Faxes on Telnyx through real processes: `POST /faxes` with `provider: telnyx` starts the send-fax workflow,
 * whose attempts are Programmable Faxes (`POST /v2/faxes` at the simulator); the simulator's signed `fax.*`
 * webhooks reach the gateway's Telnyx route and, by `client_state`, the workflow `fax:<id>`.
 */

const FAX_MACHINES = {
  '+15550008001': { outcome: 'success', pages: 4 },
  '+15550008002': { outcome: 'success', pages: 2, attemptsBeforeSuccess: 1 },
  '+15550008003': { outcome: 'success', pages: 20 },
  '+15550008004': { outcome: 'failure', failureReason: 'destination_invalid' },
  '+15550008005': { outcome: 'fail-on-page', pages: 5, failOnPage: 3 },
  '+15550008006': { outcome: 'success', pages: 12 },
  '+15550008007': { outcome: 'success', pages: 3 },
  '+15550008008': { outcome: 'success', pages: 20 },
  '+15550008009': { outcome: 'success', pages: 2, loseFinalWebhook: true },
};
/** Telnyx queues the fax to these numbers, but its answer is lost (a 500): the workflow must not send again. */
const LOST_ANSWER = '+15550008007';
const LOST_ANSWER_CANCELLED = '+15550008008';
const FROM = '+15550001000';
const DOCUMENT = 'https://files.example.com/invoice.pdf';

interface Json {
  status: number;
  body: Record<string, unknown>;
}

async function http(url: string, body?: unknown): Promise<Json> {
  const res = await request(url, {
    method: body === undefined ? 'GET' : 'POST',
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.statusCode, body: (await res.body.json()) as Record<string, unknown> };
}

describe('faxes on Telnyx (Programmable Fax)', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack({
      simulate: ['telnyx'],
      env: {
        SIMULATOR_FAXES: JSON.stringify(FAX_MACHINES),
        SIMULATOR_FAULTS: JSON.stringify({ loseFaxResponseTo: [LOST_ANSWER, LOST_ANSWER_CANCELLED] }),
        // A fax quiet for a second is looked up at Telnyx (GET /faxes/{id}).
        SESSION_LIVENESS_MAX_MS: '1000',
      },
    });
  });
  afterAll(async () => {
    await stack?.close();
  });
  afterEach(() => {
    if (expect.getState().assertionCalls !== expect.getState().numPassingAsserts) console.log(stack.output.join('\n'));
  });

  const sendFax = async (to: string, extra: Record<string, unknown> = {}) => {
    const res = await http(`${stack.gatewayUrl}/faxes`, {
      provider: 'telnyx',
      to,
      from: FROM,
      documentUrl: DOCUMENT,
      ...extra,
    });
    expect(res.status).toBe(202);
    return String(res.body.workflowId);
  };
  const faxState = async (workflowId: string) => {
    const res = await http(`${stack.gatewayUrl}/faxes/${encodeURIComponent(workflowId)}`);
    expect(res.status).toBe(200);
    return res.body.state as FaxState;
  };
  const result = (workflowId: string) => stack.client.workflow.getHandle(workflowId).result() as Promise<FaxResult>;
  const sendsTo = async (to: string) =>
    (await stack.telnyx.commands()).filter(
      (c) => c.action === 'send_fax' && (c.body as { to?: string } | undefined)?.to === to,
    );

  it('sends a multi-page fax through POST /faxes: delivered, with the state on GET /faxes/:id', async () => {
    const workflowId = await sendFax('+15550008001', { requestId: 'telnyx-multi-page' });
    expect(workflowId).toBe('fax:telnyx-multi-page');
    const outcome = await result(workflowId);
    expect(outcome).toMatchObject({ status: 'succeeded', success: true, pages: 4, attempts: 1 });

    const state = await faxState(workflowId);
    expect(state).toMatchObject({ provider: 'telnyx', status: 'succeeded', pagesSent: 4, result: outcome });
    expect(state.attempts).toEqual([
      expect.objectContaining({ attempt: 1, callId: outcome.callId, answered: true, outcome: 'sent', pagesSent: 4 }),
    ]);

    // One Programmable Fax, its body valid by the spec (the simulator answered 202), naming the workflow.
    const [send] = await sendsTo('+15550008001');
    expect([send.status, send.faxId]).toEqual([202, outcome.callId]);
    expect(send.body).toMatchObject({ media_url: DOCUMENT, from: FROM, connection_id: expect.any(String) });
    expect(decodeClientState((send.body as { client_state: string }).client_state)).toEqual({ wf: workflowId });
    const fax = (await stack.telnyx.faxes()).find((f) => f.id === outcome.callId);
    expect(fax).toMatchObject({
      status: 'delivered',
      pagesSent: 4,
      webhooks: ['fax.queued', 'fax.media.processed', 'fax.sending.started', 'fax.delivered'],
    });

    // The same requestId names the same fax: no second one.
    const again = await http(`${stack.gatewayUrl}/faxes`, {
      provider: 'telnyx',
      to: '+15550008001',
      from: FROM,
      documentUrl: DOCUMENT,
      requestId: 'telnyx-multi-page',
    });
    expect([again.status, again.body.started]).toEqual([200, false]);
    expect(await sendsTo('+15550008001')).toHaveLength(1);
  });

  it('retries a busy line after a durable delay, and succeeds', async () => {
    const workflowId = await sendFax('+15550008002', { retryDelaySeconds: 1, maxAttempts: 3 });
    const outcome = await result(workflowId);
    expect(outcome).toMatchObject({ status: 'succeeded', success: true, pages: 2, attempts: 2 });
    const state = await faxState(workflowId);
    expect(state.attempts.map((a) => [a.outcome, a.retryable, a.resultCode])).toEqual([
      ['busy (user_busy)', true, 'user_busy'],
      ['sent', false, undefined],
    ]);
    // Two faxes at Telnyx, one per attempt, each its own id.
    const sends = await sendsTo('+15550008002');
    expect(sends.map((s) => s.status)).toEqual([202, 202]);
    expect(new Set(state.attempts.map((a) => a.callId)).size).toBe(2);
    const history = await stack.client.workflow.getHandle(workflowId).fetchHistory();
    const timers = (history.events ?? []).filter((e) => e.timerStartedEventAttributes);
    expect(timers.map((e) => Number(e.timerStartedEventAttributes!.startToFireTimeout!.seconds))).toContain(1);
  });

  it('does not retry a reason another attempt cannot change, nor a transmission that broke after pages', async () => {
    const invalid = await result(await sendFax('+15550008004', { retryDelaySeconds: 1 }));
    expect(invalid).toMatchObject({
      status: 'failed',
      success: false,
      attempts: 1,
      resultCode: 'destination_invalid',
      resultText: 'unreachable (destination_invalid)',
    });
    expect(await sendsTo('+15550008004')).toHaveLength(1);

    const dropped = await result(await sendFax('+15550008005', { retryDelaySeconds: 1 }));
    expect(dropped).toMatchObject({ status: 'failed', attempts: 1, resultCode: 'receiver_call_dropped' });
    expect(await sendsTo('+15550008005')).toHaveLength(1);
  });

  it('cancels a fax that is being sent: POST /faxes/:id/cancel becomes Telnyx cancel', async () => {
    const workflowId = await sendFax('+15550008003');
    await eventually('the fax sending', async () => (await faxState(workflowId)).status === 'sending', 20_000, 100);
    const cancel = await http(`${stack.gatewayUrl}/faxes/${encodeURIComponent(workflowId)}/cancel`, {});
    expect(cancel.status).toBe(202);
    const outcome = await result(workflowId);
    expect(outcome).toMatchObject({ status: 'cancelled', success: false, attempts: 1 });
    const cancels = (await stack.telnyx.commands()).filter((c) => c.action === 'cancel_fax');
    expect(cancels).toEqual([expect.objectContaining({ status: 202, faxId: outcome.callId })]);
    const fax = (await stack.telnyx.faxes()).find((f) => f.id === outcome.callId);
    expect(fax).toMatchObject({ cancelled: true, status: 'failed' });
    expect(fax!.pagesSent).toBeLessThan(20);
    expect((await faxState(workflowId)).attempts[0]).toMatchObject({ outcome: 'cancelled', retryable: false });
  });

  it('finishes a fax exactly once when the worker is killed while it is sent', async () => {
    const workflowId = await sendFax('+15550008006');
    await eventually('the fax sending', async () => (await faxState(workflowId)).status === 'sending', 20_000, 100);
    await stack.worker.kill();
    // The fax goes on at Telnyx; its webhooks wait in Temporal as signals.
    await new Promise((r) => setTimeout(r, 1500));
    await stack.startWorker('worker-2');
    const outcome = await result(workflowId);
    expect(outcome).toMatchObject({ status: 'succeeded', success: true, pages: 12, attempts: 1 });
    expect(await sendsTo('+15550008006')).toHaveLength(1);
  });

  it('never sends a fax twice when Telnyx took it but its answer was lost: it adopts the fax from its webhooks', async () => {
    const workflowId = await sendFax(LOST_ANSWER);
    const outcome = await result(workflowId);
    expect(outcome).toMatchObject({ status: 'succeeded', success: true, pages: 3, attempts: 1 });
    // One request, answered 500 after Telnyx had queued the fax: POST /faxes has no idempotency key, so the
    // activity gave up (DialOutcomeUnknown) rather than risk a second fax, and the workflow took the fax whose
    // webhooks named it in client_state.
    const sends = await sendsTo(LOST_ANSWER);
    expect(sends.map((s) => s.status)).toEqual([500]);
    expect(outcome.callId).toBe(sends[0].faxId);
    expect((await faxState(workflowId)).attempts).toEqual([
      expect.objectContaining({ callId: sends[0].faxId, outcome: 'sent', answered: true }),
    ]);
    expect(await stack.telnyx.faxes()).toEqual(
      expect.arrayContaining([expect.objectContaining({ to: LOST_ANSWER, status: 'delivered' })]),
    );
    expect((await stack.telnyx.faxes()).filter((f) => f.to === LOST_ANSWER)).toHaveLength(1);
  });

  it('cancels an adopted fax by the id its webhooks carried', async () => {
    const workflowId = await sendFax(LOST_ANSWER_CANCELLED);
    await eventually('the fax sending', async () => (await faxState(workflowId)).status === 'sending', 20_000, 100);
    expect((await http(`${stack.gatewayUrl}/faxes/${encodeURIComponent(workflowId)}/cancel`, {})).status).toBe(202);
    const outcome = await result(workflowId);
    expect(outcome).toMatchObject({ status: 'cancelled', attempts: 1 });
    const [send] = await sendsTo(LOST_ANSWER_CANCELLED);
    expect([send.status, outcome.callId]).toEqual([500, send.faxId]);
    const cancels = (await stack.telnyx.commands()).filter((c) => c.action === 'cancel_fax' && c.faxId === send.faxId);
    expect(cancels).toEqual([expect.objectContaining({ status: 202 })]);
    expect((await stack.telnyx.faxes()).find((f) => f.id === send.faxId)).toMatchObject({ cancelled: true });
  });

  it('reconciles a fax whose fax.delivered was lost with GET /faxes/{id}: it never hangs', async () => {
    const outcome = await result(await sendFax('+15550008009'));
    expect(outcome).toMatchObject({ status: 'succeeded', success: true, attempts: 1 });
    expect(outcome.resultText).toMatch(/from the fax's status/);
    const fax = (await stack.telnyx.faxes()).find((f) => f.id === outcome.callId);
    expect(fax).toMatchObject({ status: 'delivered', lostWebhooks: ['fax.delivered'] });
    const views = (await stack.telnyx.commands()).filter((c) => c.action === 'view_fax' && c.faxId === outcome.callId);
    expect(views.length).toBeGreaterThanOrEqual(1);
    expect(views.every((v) => v.status === 200)).toBe(true);
  });

  it('receives faxes: a receive-fax workflow per fax, its document on GET /faxes/:id, renewed by refresh', async () => {
    const whole = await stack.telnyx.receiveFax({ from: '+15550007000', to: FROM, pages: 3 });
    // Its fax.received is lost: the workflow reads the outcome and the document from GET /faxes/{id}.
    const lost = await stack.telnyx.receiveFax({ from: '+15550007001', to: FROM, pages: 2, loseFinalWebhook: true });
    expect(whole.workflowId).toBe(`fax:telnyx:in:${whole.faxId}`);
    const receivedState = async (workflowId: string) => {
      let state: Record<string, unknown> = {};
      await eventually(
        'the fax received',
        async () => (state = (await faxState(workflowId)) as unknown as Record<string, unknown>).status === 'received',
        20_000,
        100,
      );
      return state;
    };
    const state = await receivedState(whole.workflowId);
    expect(state).toMatchObject({
      direction: 'receive',
      provider: 'telnyx',
      from: '+15550007000',
      to: FROM,
      pagesReceived: 3,
      documentUrl: expect.stringContaining(whole.faxId),
    });
    expect(await receivedState(lost.workflowId)).toMatchObject({
      pagesReceived: 2,
      documentUrl: expect.stringContaining(lost.faxId),
      resultText: expect.stringMatching(/from the fax's status/),
    });

    // The document's signed URL expires: refresh asks Telnyx for a new one and keeps it.
    const refreshUrl = `${stack.gatewayUrl}/faxes/${encodeURIComponent(whole.workflowId)}/actions/refresh`;
    const refreshed = await http(refreshUrl, {});
    expect(refreshed.status).toBe(200);
    expect(refreshed.body.documentUrl).toEqual(expect.stringContaining(whole.faxId));
    expect(refreshed.body.documentUrl).not.toBe(state.documentUrl);
    expect(await faxState(whole.workflowId)).toMatchObject({ documentUrl: refreshed.body.documentUrl });
    const refreshes = (await stack.telnyx.commands()).filter((c) => c.action === 'refresh_fax');
    expect(refreshes).toEqual([expect.objectContaining({ faxId: whole.faxId, status: 200 })]);
    // A sent fax (finished by now) has no received document to renew.
    const sent = await http(`${stack.gatewayUrl}/faxes/telnyx-multi-page/actions/refresh`, {});
    expect([sent.status, sent.body.code]).toEqual([404, 'not-found']);
  });

  it('refuses what Telnyx faxes cannot carry before any workflow starts', async () => {
    const res = await http(`${stack.gatewayUrl}/faxes`, {
      provider: 'telnyx',
      to: '+15550008001',
      from: FROM,
      documentUrl: DOCUMENT,
      headerInfo: 'ACME Corp',
      requestId: 'telnyx-header',
    });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({
      code: 'fax-field-unsupported',
      status: 400,
      detail: 'telnyx faxes cannot carry headerInfo',
      field: 'headerInfo',
    });
    expect((await http(`${stack.gatewayUrl}/faxes/telnyx-header`)).status).toBe(404);
  });

  it('sent only spec-valid fax requests, and every fax webhook was valid, signed and taken', async () => {
    const faxRequests = (await stack.telnyx.commands()).filter((c) => c.action.endsWith('_fax'));
    expect(faxRequests.length).toBeGreaterThanOrEqual(8);
    // The only errors are the answers the lost-answer tests made the simulator lose.
    expect(
      faxRequests.filter((c) => c.status >= 300).map((c) => [c.action, c.status, (c.body as { to: string }).to]),
    ).toEqual([
      ['send_fax', 500, LOST_ANSWER],
      ['send_fax', 500, LOST_ANSWER_CANCELLED],
    ]);
    const webhooks = (await stack.telnyx.webhooks()).filter((w) => w.eventType.startsWith('fax.'));
    expect(webhooks.length).toBeGreaterThanOrEqual(20);
    expect(webhooks.filter((w) => w.specErrors.length > 0)).toEqual([]);
    // The gateway verified each signature and acknowledged each once Temporal had it.
    expect(webhooks.filter((w) => w.status !== 'delivered')).toEqual([]);
  });
});
