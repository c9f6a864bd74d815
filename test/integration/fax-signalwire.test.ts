import { request } from 'undici';
import type { CallOutcome, FaxResult, FaxState } from '../../src/calls';
import { eventually } from '../support/net';
import { startTestStack, type TestStack } from '../support/stack';

/**
 * Faxes on SignalWire through real processes: the send-fax workflow dials with an inline `send_fax`
 * document, the simulated fax machine reports each page, the gateway routes the callbacks to `fax:<id>`,
 * and the REST API shows the progress. Receive: an inbound fax call routed to the `receiveFax` flow.
 */

const FAX_MACHINES = {
  '+15550009001': { outcome: 'success', pages: 4 },
  '+15550009002': { outcome: 'success', pages: 2, attemptsBeforeSuccess: 1 },
  '+15550009003': { outcome: 'success', pages: 8 },
  '+15550009004': { outcome: 'success', pages: 10 },
};
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

describe('faxes on SignalWire', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack({ simulate: ['signalwire'], env: { SIMULATOR_FAXES: JSON.stringify(FAX_MACHINES) } });
  });
  afterAll(async () => {
    await stack?.close();
  });
  afterEach(() => {
    if (expect.getState().assertionCalls !== expect.getState().numPassingAsserts) console.log(stack.output.join('\n'));
  });

  const sendFax = async (to: string, extra: Record<string, unknown> = {}) => {
    const res = await http(`${stack.gatewayUrl}/faxes`, {
      to,
      from: FROM,
      documentUrl: DOCUMENT,
      headerInfo: 'durable-calls test',
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
  const dialsTo = async (to: string) =>
    (await stack.signalwire.commands()).filter(
      (c) => c.command === 'dial' && (c.body as { params: { to: string } }).params.to === to,
    );

  it('sends a multi-page fax, showing each page in the state as it goes', async () => {
    const workflowId = await sendFax('+15550009001', { requestId: 'multi-page' });
    expect(workflowId).toBe('fax:multi-page');
    const seen = new Set<number>();
    let state: FaxState | undefined;
    while (!state?.result) {
      state = await faxState(workflowId);
      seen.add(state.pagesSent);
      await new Promise((r) => setTimeout(r, 100));
    }
    // Pages showed up while the fax was going out, not only at the end.
    expect([...seen].some((pages) => pages > 0 && pages < 4)).toBe(true);
    const outcome = await result(workflowId);
    expect(outcome).toMatchObject({
      status: 'succeeded',
      success: true,
      pages: 4,
      resultCode: '0',
      attempts: 1,
      remoteIdentity: '+15550009001',
    });
    expect(state.attempts).toHaveLength(1);
    expect(state.attempts[0]).toMatchObject({ outcome: 'sent', pagesSent: 4, answered: true });

    // The dial carried the fax as an inline document; the fax machine got 4 pages; every request was valid.
    const [dial] = await dialsTo('+15550009001');
    expect(dial.status).toBe(200);
    const swml = (dial.body as { params: { swml: { sections: { main: Array<Record<string, unknown>> } } } }).params
      .swml;
    expect(swml.sections.main[0]).toMatchObject({
      send_fax: { document: DOCUMENT, header_info: 'durable-calls test' },
    });
    const call = await stack.signalwire.waitForEnd(outcome.callId!);
    expect(call.faxes).toEqual([expect.objectContaining({ direction: 'send', pages: 4, success: true })]);
    // The same requestId names the same fax: no second one.
    const again = await http(`${stack.gatewayUrl}/faxes`, {
      to: '+15550009001',
      from: FROM,
      documentUrl: DOCUMENT,
      requestId: 'multi-page',
    });
    expect([again.status, again.body.started]).toEqual([200, false]);
    expect(await dialsTo('+15550009001')).toHaveLength(1);
  });

  it('retries a busy fax machine after a durable delay, and succeeds', async () => {
    const workflowId = await sendFax('+15550009002', { retryDelaySeconds: 1, maxAttempts: 3 });
    const outcome = await result(workflowId);
    expect(outcome).toMatchObject({ status: 'succeeded', success: true, pages: 2, attempts: 2 });
    const state = await faxState(workflowId);
    expect(state.attempts.map((a) => [a.outcome, a.retryable])).toEqual([
      ['busy', true],
      ['sent', false],
    ]);
    expect(await dialsTo('+15550009002')).toHaveLength(2);
    // The wait between the attempts is a timer in the workflow's history, so it survives restarts.
    const history = await stack.client.workflow.getHandle(workflowId).fetchHistory();
    const timers = (history.events ?? []).filter((e) => e.timerStartedEventAttributes);
    expect(timers.map((e) => Number(e.timerStartedEventAttributes!.startToFireTimeout!.seconds))).toContain(1);
  });

  it('receives a fax on an inbound fax call: pages in the state, the document URL in the result', async () => {
    const fax = await stack.signalwire.placeFax({ from: '+15557770100', to: '+15550001099', pages: 3 });
    const outcome: CallOutcome = await stack.outcome(fax.workflowId);
    expect(outcome.flow).toBe('receiveFax');
    expect(outcome.flowResult).toMatch(/^received a 3-page fax from \+15557770100: https?:\/\/\S+$/);
    expect(outcome.fax).toMatchObject({
      pagesDone: 3,
      result: 'success',
      documentUrl: expect.stringMatching(/^https?:\/\//),
    });
    const call = await stack.signalwire.waitForEnd(fax.callId);
    expect(call.faxes).toEqual([
      expect.objectContaining({ direction: 'receive', pages: 3, success: true, document: outcome.fax!.documentUrl }),
    ]);
    const received = await request(outcome.fax!.documentUrl!);
    expect(received.statusCode).toBe(200);
    await received.body.dump();
  });

  it('stops a fax that is being sent when cancelled', async () => {
    const workflowId = await sendFax('+15550009004');
    await eventually('the first page', async () => (await faxState(workflowId)).pagesSent >= 1, 20_000, 100);
    const cancel = await http(`${stack.gatewayUrl}/faxes/${encodeURIComponent(workflowId)}/cancel`, {});
    expect(cancel.status).toBe(202);
    const outcome = await result(workflowId);
    expect(outcome.status).toBe('cancelled');
    expect(outcome.pages).toBeLessThan(10);
    const stops = (await stack.signalwire.commands()).filter((c) => c.command === 'calling.send_fax.stop');
    expect(stops).toEqual([expect.objectContaining({ status: 200, callId: outcome.callId })]);
  });

  it('finishes a multi-page fax exactly once when the worker is killed in the middle', async () => {
    const workflowId = await sendFax('+15550009003');
    await eventually('two pages out', async () => (await faxState(workflowId)).pagesSent >= 2, 20_000, 100);
    await stack.worker.kill();
    // Pages keep going out while no worker runs: their callbacks wait in Temporal as signals.
    await new Promise((r) => setTimeout(r, 1500));
    await stack.startWorker('worker-2');
    const outcome = await result(workflowId);
    expect(outcome).toMatchObject({ status: 'succeeded', success: true, pages: 8, attempts: 1 });
    expect((await faxState(workflowId)).pagesSent).toBe(8);
    // One dial, one fax: nothing was sent a second time.
    expect(await dialsTo('+15550009003')).toHaveLength(1);
    const calls = (await stack.signalwire.calls()).filter((c) => c.to === '+15550009003');
    expect(calls).toHaveLength(1);
    expect(calls[0].faxes).toEqual([expect.objectContaining({ direction: 'send', pages: 8, success: true })]);
  });

  it('accepted every Calling API request the worker sent (each validated against the spec)', async () => {
    const commands = await stack.signalwire.commands();
    expect(commands.length).toBeGreaterThan(4);
    expect(commands.filter((c) => c.status !== 200 && !(c.command === 'calling.end' && c.status === 404))).toEqual([]);
    expect((await stack.signalwire.webhooks()).filter((w) => w.specErrors.length > 0)).toEqual([]);
  });
});
