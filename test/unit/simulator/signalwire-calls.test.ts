import { request } from 'undici';
import { commandKey, inboundCallWorkflowId, type CallEvent } from '../../../src/calls';
import {
  connectMethod,
  documentForCommand,
  handBackMethod,
  signalwirePlaceCallRequest,
  swmlDocument,
  updateRequest,
} from '../../../src/providers/signalwire';
import {
  pdfPageCount,
  signalWireSpec,
  startSignalWireSimulator,
  type SignalWireSimulator,
} from '../../../src/simulator';
import { CallingClient, OurService, PROJECT_ID, signalwireOptions, TIME_SCALE } from './signalwire-support';

/**
 * Calls through the SignalWire simulator, driven the way our service drives them: every step a SWML
 * document from the adapter (`documentForCommand`), handed back to the session's document URL, whose
 * fetch carries the step's outcome in `vars`.
 */

const CALLER = '+15550001000';
const OUR_NUMBER = '+15550009999';
const AGENT = '+15550002000';
const BUSY_AGENT = '+15550007000';
const FAX_OK = '+15550003000';
const FAX_BUSY = '+15550003001';
const FAX_BREAKS = '+15550003002';
const FAX_BUSY_TWICE = '+15550003003';
const FAX_MACHINE = '+15550004000';
const MENU = 'Press 1 for sales, 2 to leave a message';

let service: OurService;
let sim: SignalWireSimulator;
let api: CallingClient;

beforeAll(async () => {
  service = await OurService.start();
  sim = await startSignalWireSimulator({
    ...signalwireOptions(service),
    agents: {
      [AGENT]: { behaviour: 'answer', answerAfterMs: 500, hangupAfterMs: 3_000 },
      [BUSY_AGENT]: { behaviour: 'busy' },
    },
    faxes: {
      [FAX_OK]: { outcome: 'success' },
      [FAX_BUSY]: { outcome: 'busy' },
      [FAX_BREAKS]: { outcome: 'fail-on-page', pages: 5, failOnPage: 3 },
      [FAX_BUSY_TWICE]: { outcome: 'success', pages: 1, attemptsBeforeSuccess: 2 },
    },
  });
  api = new CallingClient(sim.baseUrl);
});

afterAll(async () => {
  const spec = signalWireSpec();
  expect(service.fetches.length).toBeGreaterThan(20);
  for (const fetch of service.fetches) {
    expect(fetch.verified).toEqual({ ok: true });
    expect(spec.schemaErrors('Webhooks.Calling.InboundCallWebhookPayload', fetch.body)).toEqual([]);
  }
  for (const callback of service.callbacks) expect(spec.statusCallbackErrors(callback.body)).toEqual([]);
  for (const delivery of sim.webhooks()) expect(delivery.specErrors).toEqual([]);
  await sim.close();
  await service.close();
});

const kinds = (events: CallEvent[]) => events.map((e) => e.kind);

/** Dials `to` for a session the way the activities do, with the adapter's request builder. */
async function dial(to: string, workflowId: string): Promise<string> {
  const placed = signalwirePlaceCallRequest(
    { from: OUR_NUMBER, to, commandKey: commandKey(workflowId, 0), ownerWorkflowId: workflowId },
    service.callbacksConfig,
  );
  const response = await api.send(placed.body);
  expect(response.status).toBe(200);
  expect(response.body).toMatchObject({ status: 'queued', direction: 'outbound-api', from: OUR_NUMBER, to });
  return response.body.id as string;
}

describe('inbound calls', () => {
  it('fetches the first document signed, answers, collects the scripted digit and hands it back', async () => {
    service.plan(OUR_NUMBER, [
      { op: 'answer' },
      { op: 'gather', prompt: { say: MENU }, maxDigits: 1 },
      { op: 'hangup' },
    ]);
    const { callId } = await sim.placeInboundCall({ from: CALLER, to: OUR_NUMBER, presses: ['1'] });
    const record = await sim.waitForCallEnd(callId, 5_000);
    const [first, afterAnswer, afterGather] = service.fetchesOf(callId);
    expect(first.url).toBe(service.swmlUrl);
    expect(first.headers['x-signalwire-signature']).toMatch(/^[0-9a-f]{40}$/);
    expect(first.headers['x-signalwire-sha256-signature']).toMatch(/^[0-9a-f]{64}$/);
    expect(first.body).toEqual({
      call: expect.objectContaining({
        call_id: callId,
        call_state: 'created',
        direction: 'inbound',
        type: 'phone',
        from: CALLER,
        to: OUR_NUMBER,
        from_number: CALLER,
        to_number: OUR_NUMBER,
        headers: [],
        project_id: PROJECT_ID,
        space_id: sim.spaceId,
      }),
      vars: {},
      envs: {},
      params: {},
    });
    expect(kinds(first.fetch.events)).toEqual(['call.incoming']);

    // Hand-backs go to the session's document URL, signed over the full URL with its wf and t query.
    const workflowId = inboundCallWorkflowId('signalwire', callId);
    expect(afterAnswer.url).toBe(service.documentUrl(workflowId));
    expect(afterAnswer.body.call.call_state).toBe('answered');
    expect(afterAnswer.body.params).toEqual({ op: 'answer', step: commandKey(workflowId, 1) });
    expect(afterAnswer.body.vars).toEqual({ answer_result: 'success' });
    expect(kinds(afterAnswer.fetch.events)).toEqual(['call.incoming', 'call.answered']);

    expect(afterGather.fetch.step).toEqual({ op: 'gather', key: commandKey(workflowId, 2) });
    expect(afterGather.body.vars).toMatchObject({ prompt_result: 'match_digits', prompt_value: '1' });
    expect(afterGather.fetch.events.find((e) => e.kind === 'gather.ended')).toMatchObject({
      controlId: commandKey(workflowId, 2),
      reason: 'complete',
      digits: '1',
    });
    expect(record).toMatchObject({
      state: 'ended',
      endReason: 'hangup',
      endedBy: 'app',
      heard: [MENU],
      digitsPressed: '1',
      documentsFetched: 3,
      outcome: 'answered, pressed 1, hung up by the app',
    });
  });

  it('stays silent, then types digits ended by the terminator', async () => {
    service.plan(OUR_NUMBER, [
      { op: 'answer' },
      { op: 'gather', prompt: { say: 'Your account number?' }, maxDigits: 4, timeoutMs: 3_000 },
      { op: 'gather', prompt: { play: 'https://example.com/again.mp3' }, maxDigits: 4 },
    ]);
    const { callId } = await sim.placeInboundCall({ from: CALLER, to: OUR_NUMBER, presses: [null, '42#'] });
    const record = await sim.waitForCallEnd(callId, 5_000);
    const [silent, typed] = service.fetchesOf(callId).filter((f) => f.fetch.step?.op === 'gather');
    expect(silent.body.vars.prompt_result).toBe('no_input');
    expect(silent.body.vars.prompt_value).toBeUndefined();
    expect(silent.fetch.events.find((e) => e.kind === 'gather.ended')).toMatchObject({ reason: 'timeout', digits: '' });
    expect(typed.body.vars).toMatchObject({
      prompt_result: 'match_digits',
      prompt_value: '42',
      prompt_digit_terminator: '#',
    });
    expect(typed.fetch.events.find((e) => e.kind === 'gather.ended')).toMatchObject({
      reason: 'complete',
      digits: '42',
    });
    expect(record).toMatchObject({
      heard: ['Your account number?', 'https://example.com/again.mp3'],
      digitsPressed: '42#',
    });
    expect(record.outcome).toBe('answered, stayed silent, pressed 42, hung up by the app');
  });

  it('hangs up while the menu plays: the document stops and no hand-back comes', async () => {
    service.plan(OUR_NUMBER, [{ op: 'answer' }, { op: 'gather', prompt: { say: MENU } }]);
    const { callId } = await sim.placeInboundCall({
      from: CALLER,
      to: OUR_NUMBER,
      presses: ['1'],
      hangupDuringPrompt: 0,
    });
    const record = await sim.waitForCallEnd(callId, 5_000);
    expect(record).toMatchObject({
      endReason: 'hangup',
      endedBy: 'remote',
      digitsPressed: '',
      outcome: 'answered, caller hung up during the menu',
    });
    expect(service.fetchesOf(callId).map((f) => f.fetch.step?.op)).toEqual([undefined, 'answer']);
  });

  it('gives up before the call is answered', async () => {
    service.plan(OUR_NUMBER, ['hold', 'hold', 'hold']);
    const { callId } = await sim.placeInboundCall({ from: CALLER, to: OUR_NUMBER, giveUpAfterMs: 8_000 });
    const record = await sim.waitForCallEnd(callId, 5_000);
    expect(record).toMatchObject({ endReason: 'cancel', endedBy: 'remote', outcome: 'caller gave up before answer' });
    // The unanswered holds play ringback as early media and come back every 5 s.
    const holds = service.fetchesOf(callId).slice(1);
    expect(holds.length).toBeGreaterThanOrEqual(1);
    expect(holds.every((f) => f.body.call.call_state === 'created' && f.body.params.op === 'hold')).toBe(true);
  });

  it('leaves a voicemail: talks after the beep, falls silent, and the hand-back carries the recording', async () => {
    const talkMs = 3_000;
    service.plan(OUR_NUMBER, [
      { op: 'answer' },
      { op: 'recordStart', beep: true, maxSeconds: 60, silenceSeconds: 2 },
      'hold',
    ]);
    const { callId } = await sim.placeInboundCall({ from: CALLER, to: OUR_NUMBER, voicemail: { talkMs } });
    const record = await sim.waitForCallEnd(callId, 5_000);
    const handBack = service.fetchesOf(callId).find((f) => f.fetch.step?.op === 'recordStart');
    expect(handBack?.body.vars).toMatchObject({ record_result: 'success', record_url: record.recordings[0].url });
    expect(handBack?.fetch.events.find((e) => e.kind === 'recording.saved')).toMatchObject({
      url: record.recordings[0].url,
    });
    expect(record).toMatchObject({
      endReason: 'hangup',
      endedBy: 'remote',
      outcome: 'answered, recorded a message, left a voicemail, caller hung up',
    });
    expect(record.recordings[0].durationMs).toBeGreaterThanOrEqual((talkMs + 2_000) * TIME_SCALE);
    const audio = await request(record.recordings[0].url);
    expect(audio.statusCode).toBe(200);
    expect(audio.headers['content-type']).toBe('audio/mpeg');
    expect((await audio.body.arrayBuffer()).byteLength).toBeGreaterThan(0);
  });
});

describe('connecting to agents', () => {
  /** `connect` to a number, reported to the session's status URL, then the hand-back. */
  const connectTo =
    (to: string) =>
    ({ documentUrl, statusUrl, key }: { documentUrl: string; statusUrl: string; key: string }) =>
      swmlDocument([
        connectMethod({ to, timeoutSeconds: 20, statusUrl }),
        handBackMethod(documentUrl, { op: 'bridge', step: key }),
      ]);

  it('dials the agent, bridges, and returns when the agent hangs up', async () => {
    service.plan(OUR_NUMBER, [{ op: 'answer' }, connectTo(AGENT)]);
    const { callId } = await sim.placeInboundCall({ from: CALLER, to: OUR_NUMBER });
    const record = await sim.waitForCallEnd(callId, 5_000);
    const connects = service.callbacksOf(callId, 'calling.call.connect');
    expect(connects.map((c) => c.body.params.connect_state)).toEqual(['connecting', 'connected', 'disconnected']);
    const agentId = record.bridgedWith as string;
    expect(connects[1].body.params.peer).toEqual({
      call_id: agentId,
      node_id: expect.any(String),
      device: { type: 'phone', params: { from_number: OUR_NUMBER, to_number: AGENT } },
    });
    expect(
      connects.flatMap((c) => c.events).map((e) => [e.kind, 'otherCallId' in e ? e.otherCallId : undefined]),
    ).toEqual([
      ['bridged', agentId],
      ['unbridged', agentId],
    ]);
    const handBack = await service.handBack(callId, 'bridge');
    expect(handBack.body.vars).toMatchObject({
      connect_result: 'connected',
      connect_failed_reason: 'none',
      return_value: 'connected',
    });
    expect(kinds(handBack.fetch.events)).toContain('unbridged');
    expect(record.outcome).toBe(`answered, bridged to ${AGENT}, hung up by the app`);
    expect(sim.getCall(agentId)).toMatchObject({
      direction: 'outbound',
      endedBy: 'remote',
      outcome: `answered, bridged to ${CALLER}, ${AGENT} hung up`,
    });
  });

  it('reports a busy agent in connect_result and carries on with the document', async () => {
    service.plan(OUR_NUMBER, [{ op: 'answer' }, connectTo(BUSY_AGENT), { op: 'hangup' }]);
    const { callId } = await sim.placeInboundCall({ from: CALLER, to: OUR_NUMBER });
    const record = await sim.waitForCallEnd(callId, 5_000);
    const handBack = await service.handBack(callId, 'bridge');
    expect(handBack.body.vars).toMatchObject({
      connect_result: 'failed',
      connect_failed_reason: 'busy',
      return_value: 'failed',
    });
    expect(service.callbacksOf(callId, 'calling.call.connect').map((c) => c.body.params)).toEqual([
      expect.objectContaining({ connect_state: 'connecting' }),
      expect.objectContaining({ connect_state: 'failed', failed_reason: 'busy' }),
    ]);
    expect(record).toMatchObject({ endedBy: 'app', outcome: 'answered, connect failed (busy), hung up by the app' });
  });

  it('bridges a leg it dialed by REST into the caller with connect to call:<id>', async () => {
    const workflowId = inboundCallWorkflowId('signalwire', 'bridge-test');
    service.plan(OUR_NUMBER, [{ op: 'answer' }, 'hold']);
    service.plan(AGENT, ['hold']);
    const { callId } = await sim.placeInboundCall({ from: CALLER, to: OUR_NUMBER });
    await service.handBack(callId, 'answer');
    const agentId = await dial(AGENT, workflowId);
    await service.waitFor(() => service.fetchesOf(agentId)[0]);
    // The session redirects the answered caller to the bridge document, as the adapter's update does.
    const bridge = documentForCommand(
      {
        op: 'bridge',
        otherCallId: agentId,
        callId,
        commandKey: commandKey(workflowId, 7),
        ownerWorkflowId: workflowId,
      },
      service.callbacksConfig,
    );
    expect((await api.send(updateRequest(callId, { swml: bridge }, 'answered').body)).status).toBe(200);
    const handBack = await service.handBack(callId, 'bridge');
    expect(handBack.fetch.events.find((e) => e.kind === 'unbridged')).toMatchObject({
      controlId: commandKey(workflowId, 7),
    });
    const [caller, agent] = await Promise.all([sim.waitForCallEnd(callId, 5_000), sim.waitForCallEnd(agentId, 5_000)]);
    expect(caller).toMatchObject({ bridgedWith: agentId, endedBy: 'app' });
    expect(agent).toMatchObject({ bridgedWith: callId, endedBy: 'remote' });
    // The agent's state callbacks went to the owning session's status URL.
    const states = service.callbacksOf(agentId, 'calling.call.state');
    expect(states.map((c) => c.body.params.call_state)).toEqual(['created', 'ringing', 'answered', 'ended']);
    expect(states.every((c) => c.ownerWorkflowId === workflowId)).toBe(true);
  });
});

describe('faxes', () => {
  const faxEvents = (callId: string) => service.callbacksOf(callId, 'calling.call.fax').flatMap((c) => c.events);

  it('sends a fax of as many pages as its PDF, page by page, and hands the result back', async () => {
    service.plan(FAX_OK, [{ op: 'sendFax', documentUrl: `${service.url}/docs/4.pdf`, identity: OUR_NUMBER }, 'hold']);
    const callId = await dial(FAX_OK, 'fax:send-ok');
    const record = await sim.waitForCallEnd(callId, 5_000);
    const events = faxEvents(callId);
    expect(
      events.filter((e) => e.kind === 'fax.page').map((e) => (e.kind === 'fax.page' ? [e.page, e.direction] : [])),
    ).toEqual([
      [1, 'send'],
      [2, 'send'],
      [3, 'send'],
      [4, 'send'],
    ]);
    expect(events.at(-1)).toMatchObject({
      kind: 'fax.ended',
      success: true,
      pages: 4,
      resultCode: '0',
      resultText: 'OK',
      remoteIdentity: FAX_OK,
    });
    const handBack = await service.handBack(callId, 'sendFax');
    expect(handBack.body.vars).toMatchObject({
      send_fax_result: 'success',
      send_fax_pages: '4',
      send_fax_result_code: '0',
      send_fax_document: `${service.url}/docs/4.pdf`,
      send_fax_identity: OUR_NUMBER,
      send_fax_remote_identity: FAX_OK,
    });
    expect(handBack.fetch.events.find((e) => e.kind === 'fax.ended')).toMatchObject({ success: true, pages: 4 });
    expect(record).toMatchObject({
      remote: 'fax',
      endedBy: 'remote',
      faxes: [expect.objectContaining({ direction: 'send', pages: 4, success: true })],
    });
    const states = service.callbacksOf(callId, 'calling.call.state').map((c) => c.body.params.call_state);
    expect(states).toEqual(['created', 'ringing', 'answered', 'ended']);
  });

  it('finds the fax line busy: the dial ends busy', async () => {
    const callId = await dial(FAX_BUSY, 'fax:busy');
    const record = await sim.waitForCallEnd(callId, 5_000);
    expect(record).toMatchObject({ state: 'ended', endReason: 'busy', documentsFetched: 0 });
    const ended = service.callbacksOf(callId, 'calling.call.state').at(-1);
    expect(ended?.body.params).toMatchObject({ call_state: 'ended', end_reason: 'busy' });
    expect(ended?.events).toEqual([expect.objectContaining({ kind: 'call.ended', cause: 'busy' })]);
  });

  it('breaks on page 3: two pages arrive, then finished without success', async () => {
    service.plan(FAX_BREAKS, [{ op: 'sendFax', documentUrl: 'https://files.example.com/unreachable.pdf' }]);
    const callId = await dial(FAX_BREAKS, 'fax:breaks');
    await sim.waitForCallEnd(callId, 5_000);
    const events = faxEvents(callId);
    expect(events.filter((e) => e.kind === 'fax.page')).toHaveLength(2);
    expect(events.at(-1)).toMatchObject({
      kind: 'fax.ended',
      success: false,
      pages: 2,
      resultCode: '21',
      resultText: 'No response after sending a page',
    });
    expect((await service.handBack(callId, 'sendFax')).body.vars).toMatchObject({
      send_fax_result: 'failed',
      send_fax_pages: '2',
    });
  });

  it('is busy for the first two attempts and goes through on the third', async () => {
    const outcomes: string[] = [];
    for (let attempt = 1; attempt <= 3; attempt++) {
      if (attempt === 3) service.plan(FAX_BUSY_TWICE, [{ op: 'sendFax', documentUrl: `${service.url}/docs/1.pdf` }]);
      const callId = await dial(FAX_BUSY_TWICE, `fax:retry-${attempt}`);
      const record = await sim.waitForCallEnd(callId, 5_000);
      outcomes.push(record.faxes[0]?.success ? 'sent' : (record.endReason ?? 'unknown'));
    }
    expect(outcomes).toEqual(['busy', 'busy', 'sent']);
  });

  it('stops a fax by the control_id its callbacks carry (SWML assigns it, not us)', async () => {
    service.plan(FAX_OK, [{ op: 'sendFax', documentUrl: `${service.url}/docs/20.pdf` }, 'hold']);
    const callId = await dial(FAX_OK, 'fax:stopped');
    const firstPage = await service.waitFor(() => service.callbacksOf(callId, 'calling.call.fax')[0]);
    const controlId = firstPage.body.params.control_id as string;
    expect((await api.command('calling.send_fax.stop', callId, { control_id: controlId })).status).toBe(200);
    const handBack = await service.handBack(callId, 'sendFax');
    expect(Number(handBack.body.vars.send_fax_pages)).toBeLessThan(20);
    expect(handBack.body.vars.send_fax_result).toBe('failed');
    await sim.waitForCallEnd(callId, 5_000);
    expect(faxEvents(callId).at(-1)).toMatchObject({ kind: 'fax.ended', success: false, controlId });
  });

  it('receives a fax from a machine that calls us, and serves the document', async () => {
    service.plan(OUR_NUMBER, [{ op: 'answer' }, { op: 'receiveFax' }, 'hold']);
    const { callId } = await sim.placeInboundFax({ from: FAX_MACHINE, to: OUR_NUMBER, pages: 2 });
    const record = await sim.waitForCallEnd(callId, 5_000);
    const events = faxEvents(callId);
    expect(events.filter((e) => e.kind === 'fax.page').map((e) => (e.kind === 'fax.page' ? e.direction : ''))).toEqual([
      'receive',
      'receive',
    ]);
    const ended = events.find((e) => e.kind === 'fax.ended');
    expect(ended).toMatchObject({ success: true, pages: 2, remoteIdentity: FAX_MACHINE });
    const handBack = await service.handBack(callId, 'receiveFax');
    const documentUrl = handBack.body.vars.receive_fax_document;
    expect(ended).toMatchObject({ documentUrl });
    expect(documentUrl).toMatch(new RegExp(`^${sim.baseUrl}/_sim/faxes/[0-9a-f-]{36}\\.pdf$`));
    const pdf = await request(documentUrl);
    expect(pdf.headers['content-type']).toBe('application/pdf');
    expect(pdfPageCount(Buffer.from(await pdf.body.arrayBuffer()))).toBe(2);
    expect(record).toMatchObject({ remote: 'fax', outcome: 'answered, received 2 fax pages, fax machine hung up' });
  });

  it('receives only the pages before the one the transmission breaks on', async () => {
    service.plan(OUR_NUMBER, [{ op: 'answer' }, { op: 'receiveFax' }]);
    const { callId } = await sim.placeInboundFax({ from: FAX_MACHINE, to: OUR_NUMBER, pages: 4, failOnPage: 2 });
    await sim.waitForCallEnd(callId, 5_000);
    expect((await service.handBack(callId, 'receiveFax')).body.vars).toMatchObject({
      receive_fax_result: 'failed',
      receive_fax_pages: '1',
      receive_fax_result_code: '26',
    });
  });
});
