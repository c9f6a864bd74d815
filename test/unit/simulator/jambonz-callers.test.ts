import {
  createCallBody,
  createCallRequest,
  holdingDocument,
  JambonzHook,
  queueHoldingDocument,
  redirectCall,
  updateCallRequest,
} from '../../../src/providers/jambonz';
import { startJambonzSimulator, type CallerScript, type JambonzSimulator } from '../../../src/simulator';
import {
  JambonzApi,
  startAudioSink,
  startFakeService,
  ACCOUNT_SID,
  AGENT,
  API_KEY,
  BUSY_AGENT,
  CALLER,
  jambonzOptions,
  OUR_NUMBER,
  SILENT_AGENT,
  type AudioSink,
  type FakeService,
  type ReceivedHook,
} from './jambonz-support';
import { waitUntil } from './wait';

/**
 * Scripted callers and agents on the jambonz simulator, driven the way our gateway drives jambonz: every
 * document is built with the adapter's `mapCommandToVerbs`, every hook is checked and normalised with the
 * adapter's own functions, and mid-call changes go through its Live Call Control builders.
 */

const QUEUE_AGENT = '+15550005000';
const VOICEMAIL_BOX = '+15550006000';
const MENU = 'Press 1 for sales, 2 to leave a message';

let service: FakeService;
let sink: AudioSink;
let sim: JambonzSimulator;
let api: JambonzApi;

beforeAll(async () => {
  service = await startFakeService();
  sink = await startAudioSink();
  sim = await startJambonzSimulator(
    jambonzOptions(service, {
      agents: {
        [AGENT]: { behaviour: 'answer', answerAfterMs: 1_000, hangupAfterMs: 5_000 },
        [BUSY_AGENT]: { behaviour: 'busy' },
        [SILENT_AGENT]: { behaviour: 'no-answer' },
        [QUEUE_AGENT]: { behaviour: 'answer', answerAfterMs: 200, hangupAfterMs: 20_000 },
        [VOICEMAIL_BOX]: { behaviour: 'answer', answerAfterMs: 200, answeredBy: 'machine' },
      },
    }),
  );
  api = new JambonzApi(sim.baseUrl, API_KEY);
});

afterAll(async () => {
  // Every hook was signed with the account secret and sent to a URL whose token verifies; every verb array
  // the simulator received passed the verb specifications.
  expect(service.received.length).toBeGreaterThan(40);
  for (const hook of service.received)
    expect({ url: hook.url, signed: hook.signatureOk, token: hook.tokenOk }).toEqual({
      url: hook.url,
      signed: true,
      token: true,
    });
  for (const delivery of sim.webhooks()) expect(delivery.invalidVerbs).toBeUndefined();
  await sim.close();
  await sink.close();
  await service.close();
});

async function call(script: Partial<CallerScript> = {}): Promise<string> {
  return (await sim.placeInboundCall({ from: CALLER, to: OUR_NUMBER, ...script })).callSid;
}

const eventKinds = (hooks: ReceivedHook[]) => hooks.flatMap((hook) => hook.events.map((event) => event.kind));

describe('the basic flow', () => {
  it('sends a signed session:new, answers, speaks, reports the end of the say through its redirect, hangs up', async () => {
    service.answer = (hook) => {
      if (hook.hook === JambonzHook.Call)
        return [
          ...service.verbsFor(hook.callSid, 1, { op: 'answer' }),
          ...service.verbsFor(hook.callSid, 2, { op: 'say', text: 'Welcome' }),
        ];
      if (hook.hook === JambonzHook.Say) return service.verbsFor(hook.callSid, 3, { op: 'hangup' });
    };
    const callSid = await call();
    const record = await sim.waitForCallEnd(callSid, 5_000);
    expect(record).toMatchObject({
      direction: 'inbound',
      status: 'completed',
      answered: true,
      heard: ['Welcome'],
      callTerminationBy: 'jambonz',
      verbs: ['answer', 'say', 'redirect', 'hangup'],
      outcome: 'answered, hung up by the app',
    });

    const [sessionNew] = service.hooksOf(callSid, JambonzHook.Call);
    expect(sessionNew.payload).toMatchObject({
      call_sid: callSid,
      direction: 'inbound',
      from: CALLER,
      to: OUR_NUMBER,
      call_status: 'trying',
      sip_status: 100,
      account_sid: ACCOUNT_SID,
      application_sid: sim.applicationSid,
      caller_name: CALLER,
      api_base_url: sim.baseUrl,
      sip: { method: 'INVITE', headers: { 'X-Account-Sid': ACCOUNT_SID } },
    });
    expect(sessionNew.payload.customerData).toBeUndefined();
    expect(eventKinds([sessionNew])).toEqual(['call.incoming']);
    expect(service.hooksOf(callSid, JambonzHook.Say)[0].events).toMatchObject([
      { kind: 'speak.ended', status: 'completed', controlId: `call:jambonz:${callSid}#2` },
    ]);
    expect(service.statuses(callSid)).toEqual(['trying', 'in-progress', 'completed']);
    const completed = service.hooksOf(callSid, JambonzHook.Status)[2];
    expect(completed.payload).toMatchObject({ call_termination_by: 'jambonz', duration: expect.any(Number) });
    expect(completed.events).toMatchObject([{ kind: 'call.ended', cause: 'normal', source: 'app' }]);
  });

  it('gathers the scripted digits, then times out on a silent second menu; the actionHooks normalise to gather.ended', async () => {
    service.answer = (hook) => {
      if (hook.hook === JambonzHook.Call)
        return service.verbsFor(hook.callSid, 1, {
          op: 'gather',
          prompt: { say: MENU },
          maxDigits: 1,
          timeoutMs: 30_000,
        });
      if (hook.hook === JambonzHook.Gather && hook.payload.reason === 'dtmfDetected') {
        return service.verbsFor(hook.callSid, 2, {
          op: 'gather',
          prompt: { say: 'Try again' },
          maxDigits: 3,
          timeoutMs: 4_000,
        });
      }
      if (hook.hook === JambonzHook.Gather) return service.verbsFor(hook.callSid, 3, { op: 'hangup' });
    };
    const callSid = await call({ presses: ['1', null] });
    const record = await sim.waitForCallEnd(callSid, 5_000);
    expect(record).toMatchObject({
      heard: [MENU, 'Try again'],
      digitsPressed: '1',
      outcome: 'answered, pressed 1, stayed silent, hung up by the app',
    });
    const [first, second] = service.hooksOf(callSid, JambonzHook.Gather);
    expect(first.payload).toMatchObject({ reason: 'dtmfDetected', digits: '1', call_status: 'in-progress' });
    expect(first.events).toMatchObject([
      { kind: 'gather.ended', reason: 'complete', digits: '1', controlId: `call:jambonz:${callSid}#1` },
    ]);
    expect(second.payload).toMatchObject({ reason: 'timeout' });
    expect(second.events).toMatchObject([{ kind: 'gather.ended', reason: 'timeout', digits: '' }]);
  });

  it('collects several digits up to the terminator, which it leaves out', async () => {
    service.answer = (hook) => {
      if (hook.hook === JambonzHook.Call)
        return service.verbsFor(hook.callSid, 1, {
          op: 'gather',
          maxDigits: 6,
          timeoutMs: 30_000,
          interDigitTimeoutMs: 30_000,
        });
      return service.verbsFor(hook.callSid, 2, { op: 'hangup' });
    };
    const callSid = await call({ presses: ['42#'] });
    await sim.waitForCallEnd(callSid, 5_000);
    expect(service.hooksOf(callSid, JambonzHook.Gather)[0].payload).toMatchObject({
      reason: 'dtmfDetected',
      digits: '42',
    });
    expect(sim.getCall(callSid)?.digitsPressed).toBe('42#');
  });

  it('hangs up while the menu plays: no gather hook, the call completes with call_termination_by caller', async () => {
    service.answer = (hook) =>
      hook.hook === JambonzHook.Call
        ? service.verbsFor(hook.callSid, 1, { op: 'gather', prompt: { say: MENU } })
        : undefined;
    const callSid = await call({ hangupDuringPrompt: 0 });
    const record = await sim.waitForCallEnd(callSid, 5_000);
    expect(record).toMatchObject({ callTerminationBy: 'caller', outcome: 'answered, caller hung up during the menu' });
    expect(service.hooksOf(callSid, JambonzHook.Gather)).toEqual([]);
    expect(service.hooksOf(callSid, JambonzHook.Status).at(-1)?.events).toMatchObject([
      { kind: 'call.ended', cause: 'normal', source: 'caller' },
    ]);
  });

  it('keeps a caller it has not answered through holding documents (pause + redirect), then answers', async () => {
    let asked = 0;
    service.answer = (hook) => {
      if (hook.hook === JambonzHook.Call || (hook.hook === JambonzHook.Next && ++asked < 3))
        return holdingDocument(service.url(hook.callSid, JambonzHook.Next));
      if (hook.hook === JambonzHook.Next)
        return [
          ...service.verbsFor(hook.callSid, 1, { op: 'say', text: 'Thanks for waiting' }),
          ...service.verbsFor(hook.callSid, 2, { op: 'hangup' }),
        ];
    };
    const callSid = await call();
    const record = await sim.waitForCallEnd(callSid, 5_000);
    expect(service.hooksOf(callSid, JambonzHook.Next)).toHaveLength(3);
    // pause does not answer: the caller hears nothing until the say.
    expect(service.hooksOf(callSid, JambonzHook.Next).map((h) => h.payload.call_status)).toEqual([
      'trying',
      'trying',
      'trying',
    ]);
    expect(record).toMatchObject({
      heard: ['Thanks for waiting'],
      verbs: ['pause', 'redirect', 'pause', 'redirect', 'pause', 'redirect', 'say', 'redirect', 'hangup'],
    });
  });

  it('hangs up when the verbs run out; rejects silently (603, no status) when they run out before answer', async () => {
    service.answer = (hook) =>
      hook.hook === JambonzHook.Call
        ? service.verbsFor(hook.callSid, 1, { op: 'say', text: 'Bye' }).slice(0, 1)
        : undefined;
    const answered = await call();
    expect(await sim.waitForCallEnd(answered, 5_000)).toMatchObject({
      status: 'completed',
      callTerminationBy: 'jambonz',
      outcome: 'answered, no verbs left, jambonz hung up',
    });

    service.answer = () => [{ verb: 'pause', length: 1 }];
    const unanswered = await call();
    expect(await sim.waitForCallEnd(unanswered, 5_000)).toMatchObject({
      status: 'trying',
      ended: true,
      answered: false,
    });
    expect(service.statuses(unanswered)).toEqual(['trying']);
  });
});

describe('other verbs', () => {
  it('tags the call: customerData is echoed on every later hook and names the owning session', async () => {
    service.answer = (hook) => {
      if (hook.hook === JambonzHook.Call)
        return [
          ...service.verbsFor(hook.callSid, 1, { op: 'clientStateUpdate' }),
          ...service.verbsFor(hook.callSid, 2, { op: 'say', text: 'Tagged' }),
        ];
      return service.verbsFor(hook.callSid, 3, { op: 'hangup' });
    };
    const callSid = await call();
    await sim.waitForCallEnd(callSid, 5_000);
    const owner = `call:jambonz:${callSid}`;
    expect(service.hooksOf(callSid, JambonzHook.Say)[0].payload.customerData).toEqual({ ownerWorkflowId: owner });
    for (const status of service.hooksOf(callSid, JambonzHook.Status).slice(1))
      expect(status.ownerWorkflowId).toBe(owner);
    expect(sim.getCall(callSid)?.customerData).toEqual({ ownerWorkflowId: owner });
  });

  it('declines an unanswered call (sip:decline): status failed with the SIP code, which the adapter reads as busy', async () => {
    service.answer = (hook) => service.verbsFor(hook.callSid, 1, { op: 'reject', reason: 'busy' });
    const callSid = await call();
    expect(await sim.waitForCallEnd(callSid, 5_000)).toMatchObject({
      status: 'failed',
      sipStatus: 486,
      answered: false,
      outcome: 'declined 486 Busy Here',
    });
    expect(service.hooksOf(callSid, JambonzHook.Status).at(-1)?.events).toMatchObject([
      { kind: 'call.ended', cause: 'busy', sipCode: 486 },
    ]);
  });

  it('skips a hangup on an unanswered call (its precondition fails) and plays, sends DTMF, reports playCompleted', async () => {
    service.answer = (hook) => {
      if (hook.hook === JambonzHook.Call) {
        return [
          ...service.verbsFor(hook.callSid, 1, { op: 'hangup' }),
          ...service.verbsFor(hook.callSid, 2, { op: 'sendDtmf', digits: '12w3' }),
          ...service.verbsFor(hook.callSid, 3, { op: 'play', url: 'https://cdn.example.com/menu.mp3', loop: 2 }),
        ];
      }
      return service.verbsFor(hook.callSid, 4, { op: 'hangup' });
    };
    const callSid = await call();
    const record = await sim.waitForCallEnd(callSid, 5_000);
    expect(record).toMatchObject({
      dtmfSent: '12w3',
      heard: ['https://cdn.example.com/menu.mp3', 'https://cdn.example.com/menu.mp3'],
      verbs: ['hangup', 'dtmf', 'play', 'hangup'],
    });
    const [played] = service.hooksOf(callSid, JambonzHook.Play);
    expect(played.payload).toMatchObject({
      reason: 'playCompleted',
      playback_seconds: expect.any(Number),
      playback_milliseconds: expect.any(Number),
    });
    expect(played.events).toMatchObject([{ kind: 'playback.ended', status: 'completed' }]);
  });

  it('transfers with sip:refer: NOTIFY progress to eventHook, the final status to actionHook, then the far end hangs up', async () => {
    const referHook = (callSid: string, kind: string) => `${service.url(callSid, JambonzHook.Next, 1)}&refer=${kind}`;
    service.answer = (hook) => {
      if (hook.hook !== JambonzHook.Call) return undefined;
      return [
        { verb: 'answer' },
        {
          verb: 'sip:refer',
          referTo: AGENT,
          actionHook: referHook(hook.callSid, 'action'),
          eventHook: referHook(hook.callSid, 'event'),
        },
      ];
    };
    const callSid = await call();
    const record = await sim.waitForCallEnd(callSid, 5_000);
    expect(record).toMatchObject({
      callTerminationBy: 'caller',
      outcome: `answered, referred to ${AGENT}, transferred to ${AGENT}`,
    });
    const referHooks = service.received.filter((hook) => hook.url.includes(`wf=call%3Ajambonz%3A${callSid}`));
    expect(referHooks.filter((hook) => hook.url.endsWith('refer=event')).map((hook) => hook.payload)).toEqual([
      { event: 'transfer-status', call_status: '100' },
      { event: 'transfer-status', call_status: '180' },
      { event: 'transfer-status', call_status: '200' },
    ]);
    expect(referHooks.filter((hook) => hook.url.endsWith('refer=action')).map((hook) => hook.payload)).toMatchObject([
      { refer_status: 202, final_referred_call_status: '200', call_sid: callSid },
    ]);
  });
});

describe('dial', () => {
  it('bridges an agent who answers; the agent hangs up, the dial actionHook reports it and the caller goes on', async () => {
    service.answer = (hook) => {
      if (hook.hook === JambonzHook.Call)
        return service.verbsFor(hook.callSid, 1, { op: 'transfer', to: AGENT, from: OUR_NUMBER });
      if (hook.hook === JambonzHook.Dial) return service.verbsFor(hook.callSid, 2, { op: 'hangup' });
    };
    const callSid = await call();
    const record = await sim.waitForCallEnd(callSid, 5_000);
    const [dialed] = service.hooksOf(callSid, JambonzHook.Dial);
    const agentSid = String(dialed.payload.dial_call_sid);
    expect(dialed.payload).toMatchObject({
      dial_call_status: 'completed',
      dial_sip_status: 200,
      dial_sbc_callid: expect.any(String),
    });
    // Completed with SIP 200: the agent answered (the same answer and bridge the agent's status hook reports).
    expect(dialed.events).toMatchObject([
      { kind: 'call.answered', callId: agentSid },
      { kind: 'bridged', callId: callSid, otherCallId: agentSid },
      { kind: 'call.ended', callId: agentSid, cause: 'normal' },
      { kind: 'unbridged', callId: callSid, otherCallId: agentSid },
    ]);
    expect(record).toMatchObject({
      bridgedWith: agentSid,
      outcome: `answered, bridged to ${AGENT}, dial completed, hung up by the app`,
    });
    // answerOnBridge: the caller is answered when the agent answers.
    expect(service.statuses(callSid)).toEqual(['trying', 'in-progress', 'completed']);
    expect(service.statuses(agentSid)).toEqual(['trying', 'ringing', 'in-progress', 'completed']);
    const agentStatuses = service.hooksOf(agentSid, JambonzHook.Status);
    expect(agentStatuses[0].payload).toMatchObject({
      direction: 'outbound',
      parent_call_sid: callSid,
      from: OUR_NUMBER,
      to: AGENT,
    });
    expect(agentStatuses[2].events).toMatchObject([
      { kind: 'call.answered' },
      { kind: 'bridged', callId: callSid, otherCallId: agentSid },
    ]);
    expect(agentStatuses.every((status) => status.ownerWorkflowId === `call:jambonz:${callSid}`)).toBe(true);
    expect(agentStatuses[3].payload).toMatchObject({ call_termination_by: 'caller' });
    expect(agentStatuses[3].payload.duration).toBeGreaterThanOrEqual(4); // five simulated seconds; a busy machine only makes it longer
    expect(sim.getCall(agentSid)).toMatchObject({
      parentCallSid: callSid,
      outcome: `answered, bridged to ${CALLER}, ${AGENT} hung up`,
    });
  });

  it('reports a busy agent (486) and one that never answers (ring timeout, 487) to the actionHook', async () => {
    service.answer = (hook) => {
      if (hook.hook === JambonzHook.Call) {
        // Only the silent agent gets a short ring timeout: a stalled event loop may fire timers of different lengths out of order.
        const busy = hook.payload.to === OUR_NUMBER;
        return service.verbsFor(hook.callSid, 1, {
          op: 'transfer',
          to: busy ? BUSY_AGENT : SILENT_AGENT,
          timeoutSeconds: busy ? 30 : 3,
        });
      }
      if (hook.hook === JambonzHook.Dial)
        return [
          ...service.verbsFor(hook.callSid, 2, { op: 'say', text: 'Nobody is free' }),
          ...service.verbsFor(hook.callSid, 3, { op: 'hangup' }),
        ];
    };
    const busy = await call();
    const silent = await call({ to: '+15550009998' });
    await Promise.all([sim.waitForCallEnd(busy, 5_000), sim.waitForCallEnd(silent, 5_000)]);
    expect(service.hooksOf(busy, JambonzHook.Dial)[0].payload).toMatchObject({
      dial_call_status: 'busy',
      dial_sip_status: 486,
    });
    expect(service.hooksOf(busy, JambonzHook.Dial)[0].events[0]).toMatchObject({ kind: 'call.ended', cause: 'busy' });
    expect(service.hooksOf(silent, JambonzHook.Dial)[0].payload).toMatchObject({
      dial_call_status: 'no-answer',
      dial_sip_status: 487,
    });
    expect(service.hooksOf(silent, JambonzHook.Dial)[0].events[0]).toMatchObject({
      kind: 'call.ended',
      cause: 'no-answer',
    });
    // Never bridged, so answerOnBridge left the caller unanswered until the say.
    expect(sim.getCall(busy)).toMatchObject({
      heard: ['Nobody is free'],
      outcome: 'dial busy, answered, hung up by the app',
    });
  });
});

describe('listen (recordings)', () => {
  it('streams the voicemail to the socket; the caller talks, hangs up, and the actionHook reports the seconds', async () => {
    const talkMs = 8_000;
    service.answer = (hook) => {
      if (hook.hook === JambonzHook.Call)
        return service.verbsFor(hook.callSid, 1, { op: 'say', text: 'Leave a message' });
      if (hook.hook === JambonzHook.Say)
        return service.verbsFor(hook.callSid, 2, { op: 'recordStart', beep: true, maxSeconds: 120 }, sink.url);
      return [];
    };
    const callSid = await call({ voicemail: { talkMs } });
    const record = await sim.waitForCallEnd(callSid, 5_000);
    expect(record).toMatchObject({
      heard: ['Leave a message', 'beep'],
      callTerminationBy: 'caller',
      outcome: 'answered, left a voicemail, caller hung up',
    });
    const [listened] = service.hooksOf(callSid, JambonzHook.Listen);
    expect(listened.payload).toMatchObject({ dial_call_duration: expect.any(Number), call_status: 'completed' });
    const seconds = Number(listened.payload.dial_call_duration);
    expect(seconds).toBeGreaterThanOrEqual(7); // eight simulated seconds; a busy machine only makes it longer
    expect(listened.events).toMatchObject([{ kind: 'recording.saved', durationMs: seconds * 1000 }]);
    // The completed status is sent before the listen actionHook, as jambonz does on a hang-up.
    expect(
      service
        .hooksOf(callSid)
        .map((hook) => hook.hook)
        .slice(-2),
    ).toEqual([JambonzHook.Status, JambonzHook.Listen]);
    const connection = sink.connections.find((c) => c.metadata?.callSid === callSid);
    expect(connection).toMatchObject({
      protocol: 'audio.jambonz.org',
      metadata: { sampleRate: 8000, mixType: 'mono', direction: 'inbound' },
      closed: true,
    });
    // Eight simulated seconds of 8 kHz 16-bit mono silence.
    expect(connection?.audioBytes).toBeGreaterThanOrEqual(8 * 8_000 * 2 * 0.9);
    expect(record.streams).toMatchObject([{ url: sink.url, connected: true, seconds, background: false }]);
  });

  it('reports no duration when the recording socket refuses, which the adapter reads as a failed recording', async () => {
    service.answer = (hook) => {
      if (hook.hook === JambonzHook.Call)
        return service.verbsFor(
          hook.callSid,
          1,
          { op: 'recordStart', beep: false },
          'ws://127.0.0.1:9/nothing-listens',
        );
      return service.verbsFor(hook.callSid, 2, { op: 'hangup' });
    };
    const callSid = await call();
    await sim.waitForCallEnd(callSid, 5_000);
    const [listened] = service.hooksOf(callSid, JambonzHook.Listen);
    expect(listened.payload.dial_call_duration).toBeUndefined();
    expect(listened.events).toMatchObject([{ kind: 'recording.failed' }]);
  });

  it('stops a recording with a Live Call Control redirect: the killed listen still reports, then the new verbs run', async () => {
    service.answer = (hook) => {
      if (hook.hook === JambonzHook.Call)
        return service.verbsFor(hook.callSid, 1, { op: 'recordStart', beep: false, maxSeconds: 600 }, sink.url);
      if (hook.hook === JambonzHook.Next) return service.verbsFor(hook.callSid, 2, { op: 'hangup' });
      return [];
    };
    const callSid = await call();
    await waitUntil(() => sim.getCall(callSid)?.streams[0]?.connected === true);
    const stop = updateCallRequest(ACCOUNT_SID, callSid, redirectCall(service.url(callSid, JambonzHook.Next, 2)));
    expect((await api.send(stop)).status).toBe(202);
    const record = await sim.waitForCallEnd(callSid, 5_000);
    expect(
      service
        .hooksOf(callSid)
        .filter((h) => h.hook !== JambonzHook.Status)
        .map((h) => h.hook),
    ).toEqual([JambonzHook.Call, JambonzHook.Next, JambonzHook.Listen]);
    expect(service.hooksOf(callSid, JambonzHook.Listen)[0].events).toMatchObject([{ kind: 'recording.saved' }]);
    expect(record).toMatchObject({ verbs: ['listen', 'hangup'], callTerminationBy: 'jambonz' });
  });
});

describe('queues', () => {
  it('parks a caller (waitHook polled), bridges it to an agent call with dequeue, and resumes the caller after', async () => {
    service.answer = (hook) => {
      const payload = hook.payload;
      if (hook.hook === JambonzHook.Call && payload.direction === 'inbound')
        return service.verbsFor(hook.callSid, 1, { op: 'enqueue', queue: 'sales' });
      if (hook.hook === JambonzHook.Wait) return queueHoldingDocument(1);
      if (hook.hook === JambonzHook.Call) {
        // The agent's call, placed with createCall: bridge it to the waiting caller.
        return service.verbsFor(String(hook.ownerWorkflowId), 1, { op: 'bridge', otherCallId: callerSid });
      }
      if (hook.hook === JambonzHook.Enqueue) return service.verbsFor(hook.callSid, 2, { op: 'hangup' });
      return [];
    };
    const callerSid = await call();
    const waited = await service.waitForHook((h) => h.callSid === callerSid && h.hook === JambonzHook.Wait);
    expect(waited.payload).toMatchObject({
      queue_sid: `queue:${ACCOUNT_SID}:durable-calls`,
      queue_size: 1,
      queue_position: 0,
      call_id: expect.any(String),
    });
    expect(waited.events).toMatchObject([{ kind: 'queue.joined', queue: 'durable-calls' }]);
    expect(sim.getCall(callerSid)?.queue).toBe('durable-calls');

    const agentWorkflow = 'call:jambonz:out:agent-1';
    const body = createCallBody(
      { from: OUR_NUMBER, to: QUEUE_AGENT, commandKey: `${agentWorkflow}#0`, ownerWorkflowId: agentWorkflow },
      { application_sid: sim.applicationSid },
    );
    const created = await api.send(createCallRequest(ACCOUNT_SID, body));
    expect(created).toMatchObject({ status: 201, body: { sid: expect.any(String), callId: expect.any(String) } });
    const agentSid = String((created.body as { sid: string }).sid);

    const [callerEnd, agentEnd] = await Promise.all([
      sim.waitForCallEnd(callerSid, 5_000),
      sim.waitForCallEnd(agentSid, 5_000),
    ]);
    expect(service.hooksOf(callerSid, JambonzHook.Enqueue)[0].payload).toMatchObject({
      queue_result: 'bridged',
      queue_time: expect.any(Number),
    });
    expect(service.hooksOf(callerSid, JambonzHook.Enqueue)[0].events).toMatchObject([
      { kind: 'queue.left', queue: 'durable-calls', reason: 'bridged' },
    ]);
    expect(service.hooksOf(agentSid, JambonzHook.Dequeue)[0].payload).toMatchObject({ dequeue_result: 'complete' });
    expect(callerEnd).toMatchObject({
      bridgedWith: agentSid,
      outcome: `answered, queued in durable-calls, bridged to ${QUEUE_AGENT}, hung up by the app`,
    });
    // The dequeue was the agent call's last verb: jambonz hangs it up without waiting for the actionHook's answer.
    expect(agentEnd).toMatchObject({
      bridgedWith: callerSid,
      verbs: ['rest:dial', 'dequeue'],
      outcome: `answered, bridged to ${CALLER}, callee hung up`,
    });
    expect(service.hooksOf(agentSid, JambonzHook.Call)[0].payload).toMatchObject({
      direction: 'outbound',
      call_status: 'in-progress',
      customerData: { ownerWorkflowId: agentWorkflow },
    });
  });

  it('lets a waiting caller leave when a waitHook answers leave; dequeue times out on an empty queue', async () => {
    let polls = 0;
    service.answer = (hook) => {
      if (hook.hook === JambonzHook.Call) return service.verbsFor(hook.callSid, 1, { op: 'enqueue', queue: 'support' });
      if (hook.hook === JambonzHook.Wait)
        return ++polls < 3 ? queueHoldingDocument(1) : service.verbsFor(hook.callSid, 2, { op: 'leaveQueue' });
      if (hook.hook === JambonzHook.Enqueue)
        return [
          {
            verb: 'dequeue',
            name: 'nobody-here',
            timeout: 6,
            actionHook: service.url(hook.callSid, JambonzHook.Dequeue, 2),
          },
          { verb: 'pause', length: 1 },
        ];
      return [];
    };
    const callSid = await call();
    const record = await sim.waitForCallEnd(callSid, 5_000);
    expect(polls).toBe(3);
    expect(service.hooksOf(callSid, JambonzHook.Enqueue)[0].payload).toMatchObject({ queue_result: 'leave' });
    expect(service.hooksOf(callSid, JambonzHook.Dequeue)[0].payload).toMatchObject({ dequeue_result: 'timeout' });
    expect(record.outcome).toBe(
      'answered, queued in durable-calls, left queue durable-calls, no verbs left, jambonz hung up',
    );
  });
});

describe('calls we place', () => {
  it('reports answering-machine detection to amd.actionHook (a machine, then the beep); its verbs replace the application', async () => {
    const workflowId = 'call:jambonz:out:amd-1';
    service.answer = (hook) => {
      if (hook.hook === JambonzHook.Call) return [{ verb: 'pause', length: 60 }];
      if (hook.hook === JambonzHook.Amd && hook.payload.type === 'amd_tone_detected')
        return [{ verb: 'say', text: 'Please call us back' }, { verb: 'hangup' }];
      return [];
    };
    const request = {
      from: OUR_NUMBER,
      to: VOICEMAIL_BOX,
      commandKey: `${workflowId}#0`,
      ownerWorkflowId: workflowId,
      detectMachine: true,
    };
    const body = createCallBody(
      request,
      { application_sid: sim.applicationSid },
      service.url(workflowId, JambonzHook.Amd, 0),
    );
    const created = await api.send(createCallRequest(ACCOUNT_SID, body));
    const callSid = (created.body as { sid: string }).sid;
    const record = await sim.waitForCallEnd(callSid, 5_000);
    const amd = service.hooksOf(callSid, JambonzHook.Amd);
    expect(amd.map((hook) => hook.payload.type)).toEqual(['amd_machine_detected', 'amd_tone_detected']);
    expect(amd.flatMap((hook) => hook.events)).toMatchObject([
      { kind: 'machine.detection.ended', result: 'machine' },
      { kind: 'machine.greeting.ended', beep: true },
    ]);
    expect(record).toMatchObject({ heard: ['Please call us back'], verbs: ['rest:dial', 'pause', 'say', 'hangup'] });
  });
});
