import { request } from 'undici';
import {
  startTelnyxSimulator,
  validateTelnyxWebhook,
  type CallerScript,
  type TelnyxSimulator,
} from '../../../src/simulator';
import {
  sleep,
  startReceiver,
  TelnyxClient,
  type WebhookReceiver,
  API_KEY,
  TIME_SCALE,
  telnyxOptions,
} from './telnyx-support';

/** Scripted callers and agents, driven by commands the way an app drives a real Telnyx call. */

const CALLER = '+15550001000';
const OUR_NUMBER = '+15550009999';
const AGENT = '+15550002000';
const QUICK_AGENT = '+15550005000';
const VOICEMAIL_BOX = '+15550006000';
const BUSY_AGENT = '+15550007000';
const VOICE = 'AWS.Polly.Joanna-Neural';
const MENU = 'Press 1 for sales, 2 to leave a message';

let receiver: WebhookReceiver;
let sim: TelnyxSimulator;
let api: TelnyxClient;

beforeAll(async () => {
  receiver = await startReceiver();
  sim = await startTelnyxSimulator({
    ...telnyxOptions(receiver),
    agents: {
      [AGENT]: { behaviour: 'answer', answerAfterMs: 1_000, hangupAfterMs: 30_000 },
      [QUICK_AGENT]: { behaviour: 'answer', answerAfterMs: 200 },
      [VOICEMAIL_BOX]: { behaviour: 'answer', answerAfterMs: 200, answeredBy: 'machine' },
      [BUSY_AGENT]: { behaviour: 'busy' },
    },
  });
  api = new TelnyxClient(sim.baseUrl, API_KEY);
});

afterAll(async () => {
  expect(receiver.all.length).toBeGreaterThan(50);
  for (const webhook of receiver.all) expect(validateTelnyxWebhook(webhook.raw.toString('utf8'))).toEqual([]);
  await sim.close();
  await receiver.close();
});

async function answeredCall(script: Partial<CallerScript> = {}): Promise<string> {
  const { callControlId } = await sim.placeInboundCall({ from: CALLER, to: OUR_NUMBER, ...script });
  await receiver.waitForEvent(callControlId, 'call.initiated');
  expect((await api.action(callControlId, 'answer')).status).toBe(200);
  return callControlId;
}

function menu(extra: Record<string, unknown> = {}) {
  return { payload: MENU, voice: VOICE, maximum_digits: 1, maximum_tries: 1, timeout_millis: 5_000, ...extra };
}

const types = (id: string) => receiver.events(id).map((w) => w.body.data.event_type);
const payloadOf = async (id: string, eventType: string) =>
  (await receiver.waitForEvent(id, eventType)).body.data.payload;

async function hangUp(id: string) {
  expect((await api.action(id, 'hangup')).status).toBe(200);
  return sim.waitForCallEnd(id, 5_000);
}

describe('scripted callers', () => {
  it('hears the menu and presses 1', async () => {
    const id = await answeredCall({ presses: ['1'] });
    await api.action(id, 'gather_using_speak', menu({ client_state: 'bWVudQ==' }));
    expect(await payloadOf(id, 'call.gather.ended')).toMatchObject({
      digits: '1',
      status: 'valid',
      client_state: 'bWVudQ==',
    });
    const record = await hangUp(id);
    expect(types(id)).toEqual([
      'call.initiated',
      'call.answered',
      'call.speak.started',
      'call.speak.ended',
      'call.dtmf.received',
      'call.gather.ended',
      'call.hangup',
    ]);
    expect(receiver.events(id, 'call.initiated')[0].body.data.payload).toMatchObject({
      direction: 'incoming',
      state: 'parked',
      from: CALLER,
      to: OUR_NUMBER,
    });
    expect(record).toMatchObject({
      heard: [MENU],
      digitsPressed: '1',
      hangupSource: 'callee',
      outcome: 'answered, pressed 1, hung up by the app',
    });
  });

  it('types several digits ended by the terminator, then stays silent once its presses run out', async () => {
    const id = await answeredCall({ presses: ['42#'] });
    await api.action(id, 'gather', { maximum_digits: 4, timeout_millis: 5_000 });
    expect(await payloadOf(id, 'call.gather.ended')).toMatchObject({ digits: '42', status: 'valid' });
    expect(receiver.events(id, 'call.dtmf.received').map((w) => w.body.data.payload.digit)).toEqual(['4', '2', '#']);
    await api.action(id, 'gather', { maximum_digits: 4, initial_timeout_millis: 3_000 });
    await receiver.waitFor(
      (w) => w.body.data.payload.call_control_id === id && w.body.data.payload.status === 'timeout',
    );
    expect((await hangUp(id)).outcome).toBe('answered, pressed 42, stayed silent, hung up by the app');
  });

  it('stays silent: the prompt is replayed maximum_tries times, then the gather times out', async () => {
    const id = await answeredCall({ presses: [null] });
    const started = Date.now();
    await api.action(id, 'gather_using_speak', menu({ maximum_tries: 3, timeout_millis: 10_000 }));
    expect(await payloadOf(id, 'call.gather.ended')).toEqual(
      expect.objectContaining({ digits: '', status: 'timeout' }),
    );
    expect(Date.now() - started).toBeGreaterThanOrEqual(3 * 10_000 * TIME_SCALE);
    expect(receiver.events(id, 'call.speak.started')).toHaveLength(3);
    expect(sim.getCall(id)?.heard).toEqual([MENU, MENU, MENU]);
    await hangUp(id);
  });

  it('presses a digit outside valid_digits: the gather ends invalid', async () => {
    const id = await answeredCall({ presses: ['9'] });
    await api.action(id, 'gather_using_speak', menu({ valid_digits: '12' }));
    expect(await payloadOf(id, 'call.gather.ended')).toMatchObject({ digits: '9', status: 'invalid' });
    await hangUp(id);
  });

  it('hangs up while the second menu prompt plays', async () => {
    const id = await answeredCall({ presses: ['2'], hangupDuringPrompt: 1 });
    await api.action(id, 'gather_using_speak', menu());
    await receiver.waitForEvent(id, 'call.gather.ended');
    await api.action(id, 'gather_using_speak', menu({ payload: 'Leave a message after the tone' }));
    const record = await sim.waitForCallEnd(id, 5_000);
    expect(types(id).slice(-4)).toEqual(['call.speak.started', 'call.speak.ended', 'call.gather.ended', 'call.hangup']);
    expect(receiver.events(id, 'call.speak.ended')[1].body.data.payload.status).toBe('call_hangup');
    expect(receiver.events(id, 'call.gather.ended')[1].body.data.payload).toMatchObject({
      status: 'call_hangup',
      digits: '',
    });
    expect(receiver.events(id, 'call.hangup')[0].body.data.payload).toMatchObject({
      hangup_cause: 'normal_clearing',
      hangup_source: 'caller',
    });
    expect(record).toMatchObject({ heard: [MENU, 'Leave a message after the tone'], digitsPressed: '2' });
    expect(record.outcome).toBe('answered, pressed 2, caller hung up during the menu');
    // The leg is gone: the app's next command gets 90018.
    expect((await api.action(id, 'speak', { payload: 'Bye', voice: VOICE })).body.errors[0].code).toBe('90018');
  });

  it('leaves a voicemail: talks after the beep, hangs up, then call.recording.saved arrives', async () => {
    const talkMs = 8_000;
    const id = await answeredCall({ voicemail: { talkMs } });
    await api.action(id, 'speak', { payload: 'Please leave a message', voice: VOICE });
    await receiver.waitForEvent(id, 'call.speak.ended');
    await api.action(id, 'record_start', { format: 'mp3', channels: 'single', play_beep: true, max_length: 120 });
    const record = await sim.waitForCallEnd(id, 5_000);
    expect(types(id).slice(-1)).toEqual(['call.hangup']);
    const saved = receiver.events(record.callLegId, 'call.recording.saved');
    expect(saved).toHaveLength(1);
    const payload = saved[0].body.data.payload;
    expect(payload.call_control_id).toBeUndefined();
    expect(payload).toMatchObject({ call_leg_id: record.callLegId, channels: 'single' });
    const hangupAt = Date.parse(receiver.events(id, 'call.hangup')[0].body.data.occurred_at);
    expect(Date.parse(saved[0].body.data.occurred_at)).toBeGreaterThanOrEqual(hangupAt);
    expect(record.hangupSource).toBe('caller');
    expect(record.recordings).toHaveLength(1);
    expect(record.recordings[0].durationMs).toBeGreaterThanOrEqual(talkMs * TIME_SCALE);
    expect(record.outcome).toBe('answered, left a voicemail, caller hung up');
    const audio = await request((payload.recording_urls as { wav: string }).wav);
    expect(audio.statusCode).toBe(200);
    expect((await audio.body.arrayBuffer()).byteLength).toBeGreaterThan(44);
  });

  it('gives up before the call is answered: originator_cancel', async () => {
    const { callControlId: id } = await sim.placeInboundCall({ from: CALLER, to: OUR_NUMBER, giveUpAfterMs: 2_000 });
    const record = await sim.waitForCallEnd(id, 5_000);
    expect(record).toMatchObject({
      hangupCause: 'originator_cancel',
      hangupSource: 'caller',
      outcome: 'caller gave up before answer',
    });
    expect(types(id)).toEqual(['call.initiated', 'call.hangup']);
  });

  it('is rejected as busy', async () => {
    const { callControlId: id } = await sim.placeInboundCall({ from: CALLER, to: OUR_NUMBER });
    await api.action(id, 'reject', { cause: 'USER_BUSY' });
    expect(await payloadOf(id, 'call.hangup')).toMatchObject({ hangup_cause: 'user_busy', hangup_source: 'callee' });
  });
});

describe('bridging, transfer and queues', () => {
  it('bridges the caller with a dialed agent; when the agent hangs up the caller is hung up too', async () => {
    const caller = await answeredCall();
    const dial = await api.dial({ connection_id: sim.connectionId, from: OUR_NUMBER, to: AGENT, link_to: caller });
    const agent = dial.body.data.call_control_id as string;
    expect(dial.body.data.call_session_id).toBe(sim.getCall(caller)?.callSessionId);
    expect(await payloadOf(agent, 'call.initiated')).toMatchObject({ direction: 'outgoing', state: 'bridging' });
    await receiver.waitForEvent(agent, 'call.answered');
    expect((await api.action(caller, 'bridge', { call_control_id: agent })).status).toBe(200);
    await receiver.waitForEvent(caller, 'call.bridged');
    await receiver.waitForEvent(agent, 'call.bridged');
    expect(sim.getCall(caller)).toMatchObject({ state: 'bridged', bridgedWith: agent });
    const [callerEnd, agentEnd] = await Promise.all([
      sim.waitForCallEnd(caller, 5_000),
      sim.waitForCallEnd(agent, 5_000),
    ]);
    expect(agentEnd).toMatchObject({
      hangupSource: 'callee',
      outcome: `answered, bridged to ${CALLER}, ${AGENT} hung up`,
    });
    expect(callerEnd).toMatchObject({
      hangupCause: 'normal_clearing',
      hangupSource: 'callee',
      bridgedWith: agent,
      outcome: `answered, bridged to ${AGENT}, ${AGENT} hung up`,
    });
  });

  it('transfers the caller to a new leg that carries target_leg_client_state', async () => {
    const caller = await answeredCall({ hangupAfterMs: 30_000 });
    await api.action(caller, 'transfer', { to: QUICK_AGENT, target_leg_client_state: 'YWdlbnQ=' });
    await receiver.waitForEvent(caller, 'call.bridged');
    const initiated = await receiver.waitFor(
      (w) => w.body.data.event_type === 'call.initiated' && w.body.data.payload.to === QUICK_AGENT,
    );
    const agent = initiated.body.data.payload.call_control_id as string;
    expect(initiated.body.data.payload).toMatchObject({ direction: 'outgoing', client_state: 'YWdlbnQ=' });
    const [callerEnd, agentEnd] = await Promise.all([
      sim.waitForCallEnd(caller, 5_000),
      sim.waitForCallEnd(agent, 5_000),
    ]);
    expect(types(agent)).toEqual(['call.initiated', 'call.answered', 'call.bridged', 'call.hangup']);
    expect(receiver.events(agent).every((w) => w.body.data.payload.client_state === 'YWdlbnQ=')).toBe(true);
    expect(callerEnd).toMatchObject({ hangupSource: 'caller', bridgedWith: agent });
    expect(agentEnd).toMatchObject({ hangupCause: 'normal_clearing', hangupSource: 'caller' });
  });

  it('keeps the caller up when the transfer target is busy', async () => {
    const caller = await answeredCall();
    await api.action(caller, 'transfer', { to: BUSY_AGENT });
    const hangup = await receiver.waitFor(
      (w) => w.body.data.event_type === 'call.hangup' && w.body.data.payload.to === BUSY_AGENT,
    );
    expect(hangup.body.data.payload).toMatchObject({ hangup_cause: 'user_busy' });
    expect(sim.getCall(caller)).toMatchObject({ state: 'answered', outcome: `answered, transferred to ${BUSY_AGENT}` });
    await hangUp(caller);
  });

  it('queues callers, bridges the first with an agent and lets the second leave', async () => {
    const first = await answeredCall();
    const second = await answeredCall();
    await api.action(first, 'enqueue', { queue_name: 'sales' });
    await api.action(second, 'enqueue', { queue_name: 'sales' });
    expect(await payloadOf(first, 'call.enqueued')).toMatchObject({ queue: 'sales', current_position: 1 });
    expect(await payloadOf(second, 'call.enqueued')).toMatchObject({ queue: 'sales', current_position: 2 });
    expect((await api.action(second, 'enqueue', { queue_name: 'sales' })).body.errors[0].code).toBe('90038');
    expect(sim.getCall(first)?.queue).toBe('sales');

    const dial = await api.dial({ connection_id: sim.connectionId, from: OUR_NUMBER, to: QUICK_AGENT });
    const agent = dial.body.data.call_control_id as string;
    await receiver.waitForEvent(agent, 'call.answered');
    await api.action(agent, 'bridge', { queue: 'sales' });
    expect(await payloadOf(first, 'call.dequeued')).toMatchObject({
      queue: 'sales',
      reason: 'bridged',
      queue_position: 1,
    });
    await receiver.waitForEvent(first, 'call.bridged');
    await api.action(second, 'leave_queue');
    expect(await payloadOf(second, 'call.dequeued')).toMatchObject({ reason: 'leave', queue_position: 1 });
    expect(sim.getCall(second)?.queue).toBeUndefined();

    await hangUp(agent);
    expect((await sim.waitForCallEnd(first, 5_000)).outcome).toBe(
      `answered, queued in sales, bridged to ${QUICK_AGENT}, ${QUICK_AGENT} hung up`,
    );
    await hangUp(second);
    expect((await api.action(agent, 'bridge', { queue: 'sales' })).body.errors[0].code).toBe('90018');
  });
});

describe('answering-machine detection', () => {
  it('reports a machine and the end of its greeting, or a premium human', async () => {
    const dial = (to: string, mode: string) =>
      api.dial({ connection_id: sim.connectionId, from: OUR_NUMBER, to, answering_machine_detection: mode });
    const machine = (await dial(VOICEMAIL_BOX, 'greeting_end')).body.data.call_control_id as string;
    expect(await payloadOf(machine, 'call.machine.detection.ended')).toMatchObject({ result: 'machine' });
    expect(await payloadOf(machine, 'call.machine.greeting.ended')).toMatchObject({ result: 'beep_detected' });
    expect((await hangUp(machine)).outcome).toBe('answered, answered by a machine, hung up by the app');

    const human = (await dial(QUICK_AGENT, 'premium')).body.data.call_control_id as string;
    expect(await payloadOf(human, 'call.machine.premium.detection.ended')).toMatchObject({ result: 'human_residence' });
    await hangUp(human);
    expect(types(human)).toEqual([
      'call.initiated',
      'call.answered',
      'call.machine.premium.detection.ended',
      'call.hangup',
    ]);
  });
});

describe('media, recording and forking', () => {
  it('queues speak and playback, stops playback, gathers over audio and cancels a gather', async () => {
    const id = await answeredCall({ presses: ['7'] });
    await api.action(id, 'speak', { payload: 'Welcome', voice: VOICE });
    await api.action(id, 'playback_start', { audio_url: 'https://example.com/hold.mp3', loop: 'infinity' });
    expect(await payloadOf(id, 'call.playback.started')).toMatchObject({ media_url: 'https://example.com/hold.mp3' });
    await api.action(id, 'playback_stop');
    expect(await payloadOf(id, 'call.playback.ended')).toMatchObject({ status: 'cancelled' });
    await api.action(id, 'gather_using_audio', {
      audio_url: 'https://example.com/menu.mp3',
      maximum_digits: 1,
      maximum_tries: 1,
    });
    expect(await payloadOf(id, 'call.gather.ended')).toMatchObject({ digits: '7', status: 'valid' });
    await api.action(id, 'gather', { maximum_digits: 3 });
    await sleep(20);
    await api.action(id, 'gather_stop');
    await receiver.waitFor(
      (w) =>
        w.body.data.payload.call_control_id === id &&
        w.body.data.payload.status === 'cancelled' &&
        w.body.data.event_type === 'call.gather.ended',
    );
    expect(types(id).slice(2)).toEqual([
      'call.speak.started',
      'call.speak.ended',
      'call.playback.started',
      'call.playback.ended',
      'call.playback.started',
      'call.playback.ended',
      'call.dtmf.received',
      'call.gather.ended',
      'call.gather.ended',
    ]);
    expect(sim.getCall(id)?.heard).toEqual(['Welcome', 'https://example.com/hold.mp3', 'https://example.com/menu.mp3']);
    await hangUp(id);
  });

  it('saves a recording on record_stop and when max_length is reached', async () => {
    const id = await answeredCall();
    const leg = sim.getCall(id)!.callLegId;
    await api.action(id, 'record_start', { format: 'wav', channels: 'dual' });
    await sleep(30);
    await api.action(id, 'record_pause');
    await api.action(id, 'record_resume');
    await api.action(id, 'record_stop');
    await receiver.waitFor(
      (w) => w.body.data.payload.call_leg_id === leg && w.body.data.event_type === 'call.recording.saved',
    );
    await api.action(id, 'record_start', { format: 'mp3', channels: 'single', max_length: 2 });
    await receiver.waitFor(() => receiver.events(leg, 'call.recording.saved').length === 2);
    const [stopped, limited] = receiver.events(leg, 'call.recording.saved').map((w) => w.body.data.payload);
    expect(stopped).toMatchObject({ channels: 'dual' });
    expect(limited).toMatchObject({ channels: 'single' });
    const record = await hangUp(id);
    expect(record.recordings).toHaveLength(2);
    expect(record.recordings[0].url).toMatch(/\.wav$/);
    expect(record.recordings[1].durationMs).toBeGreaterThanOrEqual(2_000 * TIME_SCALE);
  });

  it('starts and stops a media fork; stopping twice is 90031', async () => {
    const id = await answeredCall();
    await api.action(id, 'fork_start', { rx: 'udp:127.0.0.1:9000', tx: 'udp:127.0.0.1:9001' });
    await receiver.waitForEvent(id, 'call.fork.started');
    await api.action(id, 'fork_stop');
    expect(await payloadOf(id, 'call.fork.stopped')).toMatchObject({ stream_type: 'decrypted' });
    expect((await api.action(id, 'fork_stop')).body.errors[0].code).toBe('90031');
    expect((await api.action(id, 'send_dtmf', { digits: '1w2' })).status).toBe(200);
    await hangUp(id);
  });
});
