import { existsSync } from 'node:fs';
import { request } from 'undici';
import { commandKey, inboundCallWorkflowId, type CallCommand, type CallCommandBody } from '../../../src/calls';
import type { CallerScript } from '../../../src/simulator';
import {
  signalwireCommandRequest,
  signalwirePlaceCallRequest,
  signSignalWireRequest,
  updateRequest,
  verifySignalWireSignature,
} from '../../../src/providers/signalwire';
import {
  defaultSignalWireSpecPath,
  signalWireSpec,
  startSignalWireSimulator,
  type SignalWireCommandLogEntry,
  type SignalWireDelivery,
  type SignalWireSimulator,
} from '../../../src/simulator';
import {
  API_TOKEN,
  CallingClient,
  OurService,
  PROJECT_ID,
  SIGNING_KEY,
  sleep,
  signalwireOptions,
} from './signalwire-support';

/** The wire protocol: REST auth, spec validation, errors, control_id de-duplication, faults, signing and delivery. */

const CALLER = '+15550001000';
const OUR_NUMBER = '+15550009999';
const MACHINE = '+15550006000';
const UNKNOWN_CALL = '3fa85f64-5717-4562-b3fc-2c963f66afa6';

let service: OurService;
let sim: SignalWireSimulator;
let api: CallingClient;
const spec = signalWireSpec();

beforeAll(async () => {
  expect(existsSync(defaultSignalWireSpecPath())).toBe(true);
  service = await OurService.start();
  sim = await startSignalWireSimulator({
    ...signalwireOptions(service),
    statusChangeUrl: `${service.url}/webhooks/signalwire/status`,
    agents: { [MACHINE]: { behaviour: 'answer', answeredBy: 'machine' } },
  });
  api = new CallingClient(sim.baseUrl);
});

afterAll(async () => {
  for (const callback of service.callbacks) expect(spec.statusCallbackErrors(callback.body)).toEqual([]);
  for (const delivery of sim.webhooks()) expect(delivery.specErrors).toEqual([]);
  await sim.close();
  await service.close();
});

/** An inbound call our flow answered and now holds (sleeps), ready for REST commands. */
async function answeredCall(script: Partial<CallerScript> = {}): Promise<string> {
  service.plan(OUR_NUMBER, [{ op: 'answer' }, 'hold', 'hold']);
  const { callId } = await sim.placeInboundCall({ from: CALLER, to: OUR_NUMBER, ...script });
  await service.handBack(callId, 'answer');
  return callId;
}

const workflowOf = (callId: string) => inboundCallWorkflowId('signalwire', callId);
const statusUrl = (callId: string) => service.statusUrl(workflowOf(callId));
let sequence = 100;

/** A flow command as the activities send it, built by the adapter. */
async function send(callId: string, body: CallCommandBody, targetControlId?: string) {
  const command = {
    ...body,
    callId,
    commandKey: commandKey(workflowOf(callId), ++sequence),
    ownerWorkflowId: workflowOf(callId),
  } as CallCommand;
  const carrierRequest = signalwireCommandRequest(command, { callbacks: service.callbacksConfig, targetControlId });
  const response = await api.send(carrierRequest.body);
  return { response, controlId: command.commandKey };
}

async function hangUp(callId: string) {
  expect((await api.command('calling.end', callId, { reason: 'hangup' })).status).toBe(200);
  return sim.waitForCallEnd(callId, 5_000);
}

describe('REST surface', () => {
  it('answers 401 {error: "Unauthorized"} without the project id and API token', async () => {
    const callId = await answeredCall();
    for (const client of [
      new CallingClient(sim.baseUrl, ''),
      new CallingClient(sim.baseUrl, `Basic ${Buffer.from(`${PROJECT_ID}:nope`).toString('base64')}`),
    ]) {
      const response = await client.command('calling.end', callId);
      expect(response.status).toBe(401);
      expect(response.body).toEqual({ error: 'Unauthorized' });
      expect(spec.schemaErrors('Types.StatusCodes.StatusCode401', response.body)).toEqual([]);
    }
    expect(sim.getCall(callId)?.state).toBe('answered');
    expect((await new CallingClient(sim.baseUrl, '').send(undefined, `/api/voice/logs/${callId}`, 'GET')).status).toBe(
      401,
    );
    await hangUp(callId);
  });

  it('refuses bodies that break CallRequest with 422 and the spec error shape, running nothing', async () => {
    const callId = await answeredCall();
    const cases: Array<[unknown, string]> = [
      [{ command: 'dial', params: { to: CALLER, url: service.swmlUrl } }, 'params.from'],
      [{ command: 'dial', params: { from: OUR_NUMBER, to: CALLER } }, 'params.url'],
      [
        { command: 'calling.play', id: callId, params: { play: [{ type: 'tts', params: { text: 'hi' } }] } },
        'params.control_id',
      ],
      [{ command: 'calling.play', id: callId, params: { control_id: 'p', play: [], volume: 99 } }, 'params.volume'],
      [{ command: 'calling.end', id: 'not-a-uuid', params: {} }, 'id'],
      [{ command: 'calling.end', id: callId, params: { reason: 'bored' } }, 'params.reason'],
      [{ command: 'calling.end', id: callId, params: { invented: true } }, 'params.invented'],
      [{ command: 'calling.teleport', id: callId, params: {} }, 'command'],
    ];
    for (const [body, attribute] of cases) {
      const response = await api.send(body);
      expect([response.status, response.body.errors?.map((e) => e.attribute)]).toEqual([
        422,
        expect.arrayContaining([attribute]),
      ]);
      expect(spec.schemaErrors('Calling.CallCreate422Error', response.body)).toEqual([]);
      expect(response.body.errors?.[0]).toMatchObject({
        type: 'validation_error',
        url: 'https://signalwire.com/docs/apis/error-codes',
      });
    }
    expect(sim.getCall(callId)).toMatchObject({ state: 'answered', heard: [] });
    // A collect with neither digits nor speech passes the schema; the API answers 400.
    expect((await api.command('calling.collect', callId, { control_id: 'c' })).body).toEqual({ error: 'Bad Request' });
    await hangUp(callId);
  });

  it('answers 404 {error: "Not Found"} for an unknown call and for any command once the call has ended', async () => {
    expect((await api.command('calling.end', UNKNOWN_CALL)).body).toEqual({ error: 'Not Found' });
    const callId = await answeredCall();
    const live = await api.command('calling.play', callId, {
      control_id: 'hello',
      play: [{ type: 'silence', params: { duration: 1 } }],
    });
    expect(live.status).toBe(200);
    expect(spec.schemaErrors('Calling.CallResponse', live.body)).toEqual([]);
    expect(live.body).toMatchObject({
      id: callId,
      direction: 'inbound',
      status: 'answered',
      source: 'realtime_api',
      type: 'relay_pstn_call',
    });
    await hangUp(callId);
    for (const body of [
      { command: 'calling.end', id: callId, params: {} },
      { command: 'calling.play.stop', id: callId, params: { control_id: 'hello' } },
      updateRequest(callId, { url: service.swmlUrl }, 'answered').body,
    ]) {
      const response = await api.send(body);
      expect([response.status, response.body]).toEqual([404, { error: 'Not Found' }]);
      expect(spec.schemaErrors('Types.StatusCodes.StatusCode404', response.body)).toEqual([]);
    }
    const log = await api.send(undefined, `/api/voice/logs/${callId}`, 'GET');
    expect(log.body).toMatchObject({ id: callId, status: 'completed', direction: 'inbound' });
    expect(spec.schemaErrors('Voice.VoiceLog', log.body)).toEqual([]);
  });

  it('runs a repeated control_id of an active operation once, and logs the repeat as a duplicate', async () => {
    const callId = await answeredCall();
    const say = { op: 'say', text: 'Your call is important to us' } as const;
    const first = await send(callId, say);
    const command = { ...say, callId, commandKey: first.controlId, ownerWorkflowId: workflowOf(callId) } as CallCommand;
    const retry = await api.send(signalwireCommandRequest(command, { callbacks: service.callbacksConfig }).body);
    expect([first.response.status, retry.status]).toEqual([200, 200]);
    await service.waitFor(() =>
      service.callbacksOf(callId, 'calling.call.play').find((c) => c.body.params.state === 'finished'),
    );
    expect(service.callbacksOf(callId, 'calling.call.play').map((c) => c.body.params.state)).toEqual([
      'playing',
      'finished',
    ]);
    expect(sim.getCall(callId)?.heard).toEqual(['Your call is important to us']);
    const logged = sim.commands().filter((c) => c.controlId === first.controlId);
    expect(logged.map((c) => [c.command, c.status, c.duplicate])).toEqual([
      ['calling.play', 200, false],
      ['calling.play', 200, true],
    ]);
    await hangUp(callId);
  });
});

describe('REST operations and their callbacks, through the adapter', () => {
  it('plays, stops a playback, collects digits, records and taps, each reported to the status URL', async () => {
    const callId = await answeredCall({ presses: ['7'] });
    const loop = await send(callId, { op: 'play', url: 'https://example.com/hold.mp3', loop: 0 });
    await service.waitFor(() =>
      service.callbacksOf(callId, 'calling.call.play').find((c) => c.body.params.control_id === loop.controlId),
    );
    expect((await send(callId, { op: 'stopPlayback' }, loop.controlId)).response.status).toBe(200);
    const gather = await send(callId, { op: 'gather', maxDigits: 1 });
    const collected = await service.waitFor(() => service.callbacksOf(callId, 'calling.call.collect')[0]);
    expect(collected.body.params).toMatchObject({
      control_id: gather.controlId,
      result: { type: 'digit', params: { digits: '7' } },
    });
    expect(collected.events).toEqual([
      expect.objectContaining({ kind: 'gather.ended', reason: 'complete', digits: '7', controlId: gather.controlId }),
    ]);

    const recording = await send(callId, { op: 'recordStart', maxSeconds: 60, beep: false });
    const fork = await send(callId, { op: 'forkStart', rx: 'wss://media.example.com/rx' });
    const saved = await service.waitFor(() =>
      service.callbacksOf(callId, 'calling.call.record').find((c) => c.body.params.state !== 'recording'),
    );
    expect(saved.body.params).toMatchObject({
      control_id: recording.controlId,
      state: 'no_input',
      record: { audio: { format: 'mp3', direction: 'speak' } },
    });
    await send(callId, { op: 'forkStop' }, fork.controlId);
    await hangUp(callId);

    const playStates = service.callbacksOf(callId, 'calling.call.play').map((c) => c.events.map((e) => e.kind));
    expect(playStates).toEqual([['playback.started'], ['playback.ended']]);
    expect(service.callbacksOf(callId, 'calling.call.tap').flatMap((c) => c.events.map((e) => e.kind))).toEqual([
      'fork.started',
      'fork.stopped',
    ]);
    expect(service.callbacksOf(callId, 'calling.call.tap')[0].body.params).toMatchObject({
      control_id: fork.controlId,
      state: 'tapping',
      tap: { type: 'audio', params: { direction: 'speak' } },
      device: { type: 'ws', params: { uri: 'wss://media.example.com/rx' } },
    });
    expect(sim.getCall(callId)?.outcome).toBe('answered, pressed 7, hung up by the app');
  });

  it('records a voicemail by REST: the recorder stops on the silence after the message', async () => {
    const callId = await answeredCall({ voicemail: { talkMs: 2_000 } });
    const recording = await send(callId, { op: 'recordStart', silenceSeconds: 1 });
    const finished = await service.waitFor(() =>
      service.callbacksOf(callId, 'calling.call.record').find((c) => c.body.params.state === 'finished'),
    );
    expect(finished.events).toEqual([
      expect.objectContaining({
        kind: 'recording.saved',
        controlId: recording.controlId,
        url: sim.getCall(callId)?.recordings[0].url,
      }),
    ]);
    expect((await sim.waitForCallEnd(callId, 5_000)).outcome).toBe('answered, left a voicemail, caller hung up');
  });

  it('waits for start_input_timers before timing out a collect, pauses and resumes a recording, streams and detects', async () => {
    const callId = await answeredCall();
    await api.command('calling.collect', callId, {
      control_id: 'wait',
      digits: { max: 2 },
      initial_timeout: 1,
      status_url: statusUrl(callId),
    });
    await sleep(50);
    expect(service.callbacksOf(callId, 'calling.call.collect')).toEqual([]);
    await api.command('calling.collect.start_input_timers', callId, { control_id: 'wait' });
    const timedOut = await service.waitFor(() => service.callbacksOf(callId, 'calling.call.collect')[0]);
    expect(timedOut.events).toEqual([expect.objectContaining({ kind: 'gather.ended', reason: 'timeout' })]);

    await api.command('calling.record', callId, {
      control_id: 'rec',
      record: { audio: { initial_timeout: 60 } },
      status_url: statusUrl(callId),
    });
    await api.command('calling.record.pause', callId, { control_id: 'rec', behavior: 'silence' });
    await api.command('calling.record.resume', callId, { control_id: 'rec' });
    await api.command('calling.record.stop', callId, { control_id: 'rec' });
    await api.command('calling.stream', callId, {
      control_id: 'st',
      url: 'wss://stream.example.com/a',
      name: 'agent-assist',
      status_url: statusUrl(callId),
    });
    await api.command('calling.stream.stop', callId, { control_id: 'st' });
    await api.command('calling.detect', callId, {
      control_id: 'amd',
      detect: { type: 'machine' },
      status_url: statusUrl(callId),
    });
    await service.waitFor(() =>
      service
        .callbacksOf(callId, 'calling.call.detect')
        .find(
          (c) =>
            c.body.params.detect && (c.body.params.detect as { params: { event: string } }).params.event === 'finished',
        ),
    );
    await service.waitFor(() =>
      service.callbacksOf(callId, 'calling.call.record').find((c) => c.body.params.state === 'finished'),
    );
    await service.waitFor(() =>
      service.callbacksOf(callId, 'calling.call.stream').find((c) => c.body.params.state === 'finished'),
    );
    expect(
      service
        .callbacksOf(callId, 'calling.call.record')
        .map((c) => [c.body.params.state, c.body.params.pause_behavior]),
    ).toEqual([
      ['recording', undefined],
      ['paused', 'silence'],
      ['recording', undefined],
      ['finished', undefined],
    ]);
    for (const stream of service.callbacksOf(callId, 'calling.call.stream')) {
      expect(spec.schemaErrors('Webhooks.Calling.StreamStatusCallbackPayload', stream.body)).toEqual([]);
    }
    expect(service.callbacksOf(callId, 'calling.call.stream').flatMap((c) => c.events.map((e) => e.kind))).toEqual([
      'stream.started',
      'stream.stopped',
    ]);
    expect(service.callbacksOf(callId, 'calling.call.detect').flatMap((c) => c.events)).toEqual([
      expect.objectContaining({ kind: 'machine.detection.ended', result: 'human', controlId: 'amd' }),
    ]);
    await hangUp(callId);
  });

  it('dials with machine detection: detect_machine runs beside the call and reports the machine and its beep', async () => {
    const workflowId = 'call:signalwire:out:amd-test';
    service.plan(MACHINE, ['hold']);
    const placed = signalwirePlaceCallRequest(
      {
        from: OUR_NUMBER,
        to: MACHINE,
        detectMachine: true,
        commandKey: commandKey(workflowId, 0),
        ownerWorkflowId: workflowId,
      },
      service.callbacksConfig,
    );
    const callId = (await api.send(placed.body)).body.id as string;
    await service.waitFor(() =>
      service
        .callbacksOf(callId, 'calling.call.detect')
        .find((c) => c.events.some((e) => e.kind === 'machine.greeting.ended')),
    );
    expect(service.callbacksOf(callId, 'calling.call.detect').flatMap((c) => c.events.map((e) => e.kind))).toEqual([
      'machine.detection.ended',
      'machine.greeting.ended',
    ]);
    // The dial's inline document handed the call to the session while detection went on.
    const [first] = service.fetchesOf(callId);
    expect(first.body.call).toMatchObject({
      direction: 'outbound',
      call_state: 'answered',
      from: OUR_NUMBER,
      to: MACHINE,
    });
    await service.waitFor(() => sim.getCall(callId)?.vars.detect_result === 'machine' || undefined);
    expect(sim.getCall(callId)?.vars).toMatchObject({ detect_result: 'machine', detect_machine_beep: 'true' });
    await hangUp(callId);
  });
});

describe('documents', () => {
  it('redirects an answered call with update: the current document stops and the new URL is fetched with the vars', async () => {
    const callId = await answeredCall();
    const redirect = updateRequest(callId, { url: service.documentUrl(workflowOf(callId)) }, 'answered');
    expect((await api.send(redirect.body)).status).toBe(200);
    const fetched = await service.waitFor(() =>
      service.fetchesOf(callId).find((f) => f.fetch.step === undefined && f.body.call.call_state === 'answered'),
    );
    expect(fetched.body).toMatchObject({ params: {}, vars: { answer_result: 'success' } });
    expect(fetched.verified).toEqual({ ok: true });
    // Refused before answer: a redirect needs an answered call.
    service.plan(OUR_NUMBER, ['hold']);
    const { callId: ringing } = await sim.placeInboundCall({ from: CALLER, to: OUR_NUMBER });
    await service.waitFor(() => service.fetchesOf(ringing)[0]);
    const early = await api.send({ command: 'update', params: { id: ringing, url: service.swmlUrl } });
    expect(early.status).toBe(422);
    expect(spec.schemaErrors('Calling.CallCreate422Error', early.body)).toEqual([]);
    expect((await api.send(updateRequest(ringing, { status: 'canceled' }, 'ringing').body)).status).toBe(200);
    expect(await sim.waitForCallEnd(ringing, 5_000)).toMatchObject({ endReason: 'cancel', endedBy: 'app' });
    await sim.waitForCallEnd(callId, 5_000);
  });

  it('ends a call with update status completed (the adapter sends it with a hangup document)', async () => {
    const callId = await answeredCall();
    expect((await api.send(updateRequest(callId, { status: 'completed' }, 'answered').body)).status).toBe(200);
    expect(await sim.waitForCallEnd(callId, 5_000)).toMatchObject({ endReason: 'hangup', endedBy: 'app' });
  });

  it('runs a YAML document from a dial url, with custom_variables as envs, and hangs up when it runs out', async () => {
    const url = service.serve(
      'greeting',
      'application/yaml',
      "version: 1.0.0\nsections:\n  main:\n    - play:\n        url: 'say:Hello from YAML'\n",
    );
    const dialed = await api.send({
      command: 'dial',
      params: { from: OUR_NUMBER, to: CALLER, url, custom_variables: { ticket: '42' } },
    });
    const record = await sim.waitForCallEnd(dialed.body.id as string, 5_000);
    expect(record).toMatchObject({
      heard: ['Hello from YAML'],
      endReason: 'hangup',
      endedBy: 'app',
      documentsFetched: 1,
    });
    const fetch = sim.webhooks().find((w) => w.kind === 'swml-fetch' && w.url === url);
    expect(JSON.parse(fetch?.body ?? '{}')).toMatchObject({ envs: { ticket: '42' }, call: { direction: 'outbound' } });
  });

  it('runs an execute to a URL as a subroutine, then goes on with the calling document', async () => {
    const inner = service.serve(
      'inner',
      'application/json',
      JSON.stringify({ version: '1.0.0', sections: { main: [{ play: { url: 'say:inside' } }, { return: {} }] } }),
    );
    const outer = service.serve(
      'outer',
      'application/yaml',
      `version: 1.0.0\nsections:\n  main:\n    - execute:\n        dest: '${inner}'\n        params: { from: outer }\n    - play:\n        url: 'say:after'\n`,
    );
    const dialed = await api.send({ command: 'dial', params: { from: OUR_NUMBER, to: CALLER, url: outer } });
    const record = await sim.waitForCallEnd(dialed.body.id as string, 5_000);
    expect(record).toMatchObject({ heard: ['inside', 'after'], documentsFetched: 2 });
    const innerFetch = sim.webhooks().find((w) => w.kind === 'swml-fetch' && w.url === inner);
    expect(JSON.parse(innerFetch?.body ?? '{}')).toMatchObject({ params: { from: 'outer' } });
  });

  it('signs every fetch over the full URL and the exact bytes, with both signatures', async () => {
    const callId = await answeredCall();
    await hangUp(callId);
    const [first, handBack] = service.fetchesOf(callId);
    expect(handBack.url).toContain('?wf=');
    for (const fetch of [first, handBack]) {
      expect(fetch.headers['x-signalwire-signature']).toBe(signSignalWireRequest(SIGNING_KEY, fetch.url, fetch.raw));
      expect(fetch.headers['x-signalwire-sha256-signature']).toBe(
        signSignalWireRequest(SIGNING_KEY, fetch.url, fetch.raw, 'sha256'),
      );
      const tampered = Buffer.from(fetch.raw.toString('utf8').replace('inbound', 'outbound'));
      expect(
        verifySignalWireSignature({ url: fetch.url, headers: fetch.headers, rawBody: tampered }, SIGNING_KEY).ok,
      ).toBe(false);
    }
  });

  it('retries a fetch answered 5xx, and hangs up when no valid document comes back', async () => {
    service.failNext('fetch', 2, 503);
    // Retries wait real time, longer than the scaled minute a caller waits for an answer.
    const callId = await answeredCall({ giveUpAfterMs: 600_000 });
    const delivery = sim.webhooks().find((w) => w.kind === 'swml-fetch' && w.callId === callId);
    expect(delivery).toMatchObject({ status: 'delivered', attempts: 3, lastStatusCode: 200 });
    await hangUp(callId);

    service.failNext('fetch', 4, 500);
    const { callId: doomed } = await sim.placeInboundCall({ from: CALLER, to: OUR_NUMBER, giveUpAfterMs: 600_000 });
    expect(await sim.waitForCallEnd(doomed, 5_000)).toMatchObject({
      endReason: 'error',
      endedBy: 'carrier',
      outcome: 'no valid SWML document',
    });
    expect(sim.webhooks().find((w) => w.callId === doomed && w.kind === 'swml-fetch')).toMatchObject({
      status: 'failed',
      attempts: 4,
      lastStatusCode: 500,
    });

    service.plan(OUR_NUMBER, [() => ({ version: '1.0.0', sections: { main: [{ teleport: {} }] } })]);
    const { callId: nonsense } = await sim.placeInboundCall({ from: CALLER, to: OUR_NUMBER });
    expect(await sim.waitForCallEnd(nonsense, 5_000)).toMatchObject({
      endReason: 'error',
      outcome: 'no valid SWML document',
    });
  });
});

describe('callbacks and faults', () => {
  it('sends the number its inbound calls\u2019 states, and retries a status callback answered 503', async () => {
    service.failNext('callback', 2, 503);
    const callId = await answeredCall();
    await hangUp(callId);
    // The retried callback arrives after later ones: retries do not hold the call's other callbacks back.
    const states = service.callbacksOf(callId, 'calling.call.state');
    expect(states.map((c) => c.body.params.call_state).sort()).toEqual(['answered', 'created', 'ended']);
    expect(states.find((c) => c.body.params.call_state === 'ended')?.events).toEqual([
      expect.objectContaining({ kind: 'call.ended', cause: 'normal' }),
    ]);
    const attempts = service.callbacks.filter(
      (c) => c.body.params.call_id === callId && c.body.event_type === 'calling.call.state',
    );
    expect(attempts.map((c) => c.answered).sort()).toEqual([200, 200, 200, 503, 503]);
    // A retry resends the same bytes.
    const refused = attempts.filter((c) => c.answered === 503).map((c) => c.raw.toString());
    expect(refused.every((raw) => attempts.some((c) => c.answered === 200 && c.raw.toString() === raw))).toBe(true);
    // Status callbacks are not signed: our service trusts the token in its URL.
    expect(attempts.every((c) => c.headers['x-signalwire-signature'] === undefined)).toBe(true);
  });

  it('fails the first attempts of every command, then runs it once; duplicates every callback', async () => {
    const faulty = await startSignalWireSimulator({
      ...signalwireOptions(service),
      faults: { failFirstCommandAttempts: { status: 429, count: 2, retryAfterSeconds: 1 }, duplicateWebhooks: true },
    });
    try {
      const client = new CallingClient(faulty.baseUrl);
      service.plan(OUR_NUMBER, [{ op: 'answer' }, 'hold']);
      const { callId } = await faulty.placeInboundCall({ from: CALLER, to: OUR_NUMBER });
      await service.handBack(callId, 'answer');
      const play = {
        control_id: 'once',
        play: [{ type: 'tts', params: { text: 'Hi' } }],
        status_url: statusUrl(callId),
      };
      const statuses: number[] = [];
      for (let attempt = 0; attempt < 3; attempt++) {
        const response = await client.command('calling.play', callId, play);
        statuses.push(response.status);
        if (response.status === 429)
          expect([response.headers['retry-after'], response.body]).toEqual(['1', { error: 'Too Many Requests' }]);
      }
      expect(statuses).toEqual([429, 429, 200]);
      await service.waitFor(() => (service.callbacksOf(callId, 'calling.call.play').length === 4 ? true : undefined));
      expect(service.callbacksOf(callId, 'calling.call.play').map((c) => c.body.params.state)).toEqual([
        'playing',
        'playing',
        'finished',
        'finished',
      ]);
      expect(faulty.getCall(callId)?.heard).toEqual(['Hi']);
    } finally {
      await faulty.close();
    }
  });

  it('runs without validation, warning once, when the spec file is missing', async () => {
    const lines: string[] = [];
    const options = {
      swmlUrl: service.swmlUrl,
      projectId: PROJECT_ID,
      apiToken: API_TOKEN,
      signingKey: SIGNING_KEY,
      specPath: '/nonexistent/spec.yaml',
    };
    const unchecked = await startSignalWireSimulator({ ...options, log: (line) => lines.push(line) });
    await (await startSignalWireSimulator({ ...options, log: (line) => lines.push(line) })).close();
    try {
      expect(lines.filter((line) => line.includes('/nonexistent/spec.yaml'))).toHaveLength(1);
      // `invented` breaks the schema; unchecked, the command reaches the engine (which knows no such call).
      expect(
        (await new CallingClient(unchecked.baseUrl).command('calling.end', UNKNOWN_CALL, { invented: true })).status,
      ).toBe(404);
    } finally {
      await unchecked.close();
    }
  });
});

describe('control API', () => {
  it('exposes calls, faxes, commands and deliveries over HTTP under /_sim', async () => {
    const get = async <T = Record<string, unknown>>(path: string) =>
      (await (await request(`${sim.baseUrl}${path}`)).body.json()) as T;
    const post = (path: string, body: unknown) =>
      request(`${sim.baseUrl}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    expect(await get('/healthz')).toEqual({ status: 'ok' });
    service.plan(OUR_NUMBER, [{ op: 'answer' }, 'hold']);
    const { call_id: callId } = (await (
      await post('/_sim/calls', { from: CALLER, to: OUR_NUMBER, hangupAfterMs: 500 })
    ).body.json()) as { call_id: string };
    const ended = await get(`/_sim/calls/${callId}/ended?timeout_ms=5000`);
    expect(ended).toMatchObject({ callId, state: 'ended', endedBy: 'remote', outcome: 'answered, caller hung up' });
    expect(await get(`/_sim/calls/${callId}`)).toMatchObject({ callId, documentsFetched: 2 });
    service.plan(OUR_NUMBER, []);
    const fax = (await (await post('/_sim/faxes', { from: '+15550004000', to: OUR_NUMBER, pages: 1 })).body.json()) as {
      call_id: string;
    };
    expect(await get(`/_sim/calls/${fax.call_id}/ended?timeout_ms=5000`)).toMatchObject({
      remote: 'fax',
      state: 'ended',
    });
    expect(
      (await get<SignalWireDelivery[]>('/_sim/webhooks')).some((w) => w.callId === callId && w.kind === 'swml-fetch'),
    ).toBe(true);
    await api.command('calling.end', UNKNOWN_CALL);
    expect((await get<SignalWireCommandLogEntry[]>('/_sim/commands')).at(-1)).toMatchObject({
      command: 'calling.end',
      callId: UNKNOWN_CALL,
      status: 404,
    });
    for (const [path, body] of [
      ['/_sim/calls', { from: 1 }],
      ['/_sim/faxes', { from: '+1', to: '+2', pages: 0 }],
    ] as const) {
      const bad = await post(path, body);
      expect(bad.statusCode).toBe(400);
      await bad.body.dump();
    }
  });
});
