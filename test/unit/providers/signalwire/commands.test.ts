import { randomBytes } from 'node:crypto';
import { ErrorType, commandKey, type CallCommand, type CallCommandBody, type CallOp } from '../../../../src/calls';
import { CarrierError } from '../../../../src/providers/errors';
import {
  SIGNALWIRE_OPS,
  callingRequest,
  classifySignalWireResponse,
  dialRequest,
  documentUrl,
  signalwireAuthorization,
  signalwireCallIsAlive,
  signalwireCallStatusRequest,
  signalwireCommandRequest,
  signalwirePlaceCallRequest,
  signalwirePlacedCall,
  statusCallbackToken,
  swmlDocument,
  updateRequest,
  type CallingCommand,
  type CallingParams,
  type CommandContext,
} from '../../../../src/providers/signalwire';
import type { CarrierRequest } from '../../../../src/providers/types';
import { callRequestErrors } from './spec';

const callId = '3fa85f64-5717-4562-b3fc-2c963f66afa6';
const workflowId = `call:signalwire:${callId}`;
const callbacks = { publicBaseUrl: 'https://gw.example.com', secret: randomBytes(32).toString('base64url') };
const context: CommandContext = { callbacks, targetControlId: commandKey(workflowId, 3) };

/** The request body, checked against the spec's `CallRequest` before anything else looks at it. */
function validBody(request: CarrierRequest): { command: string; id?: string; params: Record<string, unknown> } {
  expect(request).toMatchObject({ method: 'POST', path: '/api/calling/calls' });
  const body = request.body as { command: string; id?: string; params: Record<string, unknown> };
  expect(callRequestErrors(body)).toBe('');
  expect(request.operation).toBe(body.command);
  return body;
}

type CallingCase = { [C in CallingCommand]: [C, CallingParams[C]] }[CallingCommand];
const ctl = { control_id: 'ctl-1' };

// Every calling.* command a flow can use, with each variant of its params.
const callingCases: CallingCase[] = [
  ['calling.play', { ...ctl, play: [{ type: 'audio', params: { url: 'https://cdn.example.com/a.mp3' } }] }],
  [
    'calling.play',
    {
      ...ctl,
      play: [
        { type: 'tts', params: { text: 'Hello', language: 'en-US', gender: 'female', voice: 'en-US-Wavenet-C' } },
        { type: 'silence', params: { duration: 1.5 } },
        { type: 'ringtone', params: { name: 'us', duration: 10 } },
      ],
      volume: -6,
      direction: 'both',
      loop: 0,
      language: 'en-GB',
      voice: 'x',
      gender: 'male',
      status_url: 'https://gw.example.com/s',
    },
  ],
  ['calling.play.pause', ctl],
  ['calling.play.resume', ctl],
  ['calling.play.stop', ctl],
  ['calling.play.volume', { ...ctl, volume: 12 }],
  [
    'calling.collect',
    { ...ctl, digits: { max: 4, terminators: '#', digit_timeout: 3 }, initial_timeout: 5, start_input_timers: true },
  ],
  [
    'calling.collect',
    {
      ...ctl,
      speech: {
        end_silence_timeout: 1,
        speech_timeout: 10,
        language: 'en-US',
        hints: ['yes'],
        model: 'nova-3',
        engine: 'Deepgram',
      },
    },
  ],
  [
    'calling.collect',
    {
      ...ctl,
      digits: { max: 1 },
      speech: {},
      continuous: false,
      partial_results: true,
      send_start_of_input: true,
      status_url: 'https://gw.example.com/s',
    },
  ],
  ['calling.collect.stop', ctl],
  ['calling.collect.start_input_timers', ctl],
  [
    'calling.record',
    {
      ...ctl,
      record: {
        audio: {
          beep: true,
          format: 'wav',
          stereo: true,
          direction: 'both',
          initial_timeout: 4,
          end_silence_timeout: 2,
          max_length: 60,
          terminators: '#*',
          input_sensitivity: 50,
        },
      },
      status_url: 'https://gw.example.com/s',
    },
  ],
  ['calling.record.pause', { ...ctl, behavior: 'silence' }],
  ['calling.record.resume', ctl],
  ['calling.record.stop', ctl],
  [
    'calling.detect',
    {
      ...ctl,
      detect: {
        type: 'machine',
        params: { initial_timeout: 4.5, end_silence_timeout: 1, machine_ready_timeout: 2, detect_message_end: true },
      },
      timeout: 30,
      status_url: 'https://gw.example.com/s',
    },
  ],
  ['calling.detect', { ...ctl, detect: { type: 'fax', params: { tone: 'CED' } } }],
  ['calling.detect', { ...ctl, detect: { type: 'digit', params: { digits: '0123456789#*' } } }],
  ['calling.detect.stop', ctl],
  [
    'calling.tap',
    {
      ...ctl,
      tap: { type: 'audio', params: { direction: 'both' } },
      device: { type: 'rtp', params: { addr: '198.51.100.42', port: 5060, codec: 'PCMU', ptime: 20 } },
    },
  ],
  [
    'calling.tap',
    {
      ...ctl,
      tap: { type: 'audio', params: { direction: 'speak' } },
      device: { type: 'ws', params: { uri: 'wss://tap.example.com/x' } },
      status_url: 'https://gw.example.com/s',
    },
  ],
  ['calling.tap.stop', ctl],
  [
    'calling.stream',
    {
      ...ctl,
      url: 'wss://stream.example.com/a',
      name: 'support',
      codec: 'PCMU',
      track: 'both_tracks',
      authorization_bearer_token: 'tok',
      custom_parameters: { a: 1 },
      status_url: 'https://gw.example.com/s',
      status_url_method: 'POST',
    },
  ],
  ['calling.stream.stop', ctl],
  ['calling.denoise', {}],
  ['calling.denoise.stop', {}],
  ['calling.transfer', { dest: 'sip:desk@example.com' }],
  ['calling.transfer', { dest: swmlDocument([{ connect: { to: '+15551234567' } }]) }],
  [
    'calling.refer',
    {
      device: {
        type: 'sip',
        params: { to: 'sip:desk@example.com', from: 'sip:ivr@example.com', username: 'u', password: 'p' },
      },
      status_url: 'https://gw.example.com/s',
    },
  ],
  ['calling.end', {}],
  ['calling.end', { reason: 'noAnswer' }],
  ['calling.disconnect', {}],
  ['calling.user_event', { event: { action: 'custom', data: 1 } }],
  ['calling.send_fax.stop', ctl],
  ['calling.receive_fax.stop', ctl],
];

describe('calling.* request builders', () => {
  it('are checked by a validator that does refuse bad bodies', () => {
    const play = { command: 'calling.play', id: callId, params: { control_id: 'c', play: [] } };
    expect(callRequestErrors(play)).toBe('');
    expect(callRequestErrors({ ...play, params: { ...play.params, volume: 41 } })).toMatch(/volume/);
    expect(callRequestErrors({ ...play, params: { ...play.params, controlId: 'c' } })).not.toBe('');
    expect(callRequestErrors({ ...play, id: 'not-a-uuid' })).toMatch(/uuid/);
    expect(
      callRequestErrors({ command: 'calling.collect', id: callId, params: { control_id: 'c', digits: {} } }),
    ).toMatch(/max/);
  });

  it.each(callingCases.map((c, i) => [`${c[0]} #${i}`, c] as const))(
    '%s validates against CallRequest',
    (_name, [command, params]) => {
      const body = validBody(callingRequest(command, callId, params as never));
      expect(body).toEqual({ command, id: callId, params });
    },
  );

  it('covers every calling.* command in CallingParams', () => {
    const covered = new Set(callingCases.map(([command]) => command));
    const all: Record<CallingCommand, true> = {
      'calling.play': true,
      'calling.play.pause': true,
      'calling.play.resume': true,
      'calling.play.stop': true,
      'calling.play.volume': true,
      'calling.collect': true,
      'calling.collect.stop': true,
      'calling.collect.start_input_timers': true,
      'calling.record': true,
      'calling.record.pause': true,
      'calling.record.resume': true,
      'calling.record.stop': true,
      'calling.detect': true,
      'calling.detect.stop': true,
      'calling.tap': true,
      'calling.tap.stop': true,
      'calling.stream': true,
      'calling.stream.stop': true,
      'calling.denoise': true,
      'calling.denoise.stop': true,
      'calling.transfer': true,
      'calling.refer': true,
      'calling.end': true,
      'calling.disconnect': true,
      'calling.user_event': true,
      'calling.send_fax.stop': true,
      'calling.receive_fax.stop': true,
    };
    expect([...covered].sort()).toEqual(Object.keys(all).sort());
  });
});

describe('dial and update', () => {
  it('builds dial bodies with a URL or inline SWML, with every optional field', () => {
    validBody(dialRequest({ from: '+15550001111', to: '+15550002222', url: 'https://gw.example.com/swml' }));
    validBody(
      dialRequest({
        from: '+15550001111',
        to: 'sip:alice@example.com',
        swml: swmlDocument([{ answer: {} }, { hangup: {} }]),
        caller_id: '+15550001111',
        fallback_url: 'https://gw.example.com/fallback',
        status_url: 'https://gw.example.com/s',
        status_events: ['created', 'ringing', 'answered', 'ended'],
        url_method: 'POST',
        codecs: ['PCMU', 'OPUS'],
        timeout: 45,
        max_price_per_minute: 0.05,
        send_digits: '1w2',
        region: ['us-east-1'],
        custom_variables: { case_id: '42' },
        username: 'alice',
        password: 'secret',
      }),
    );
  });

  it('places a call that fetches its document from the session, with status callbacks for every state', () => {
    const request = signalwirePlaceCallRequest(
      { from: '+15550001111', to: '+15550002222', commandKey: commandKey(workflowId, 1), ownerWorkflowId: workflowId },
      callbacks,
    );
    const { params } = validBody(request);
    expect(params).toMatchObject({
      from: '+15550001111',
      to: '+15550002222',
      timeout: 30,
      url: documentUrl(callbacks.publicBaseUrl, callbacks.secret, workflowId),
      status_events: ['created', 'ringing', 'answered', 'ended'],
    });
    const statusUrl = new URL(params.status_url as string);
    expect(statusUrl.searchParams.get('t')).toBe(
      statusCallbackToken(callbacks.secret, workflowId, Number(statusUrl.searchParams.get('exp'))),
    );
  });

  it('starts machine detection in an inline document when asked to', () => {
    const request = signalwirePlaceCallRequest(
      {
        from: '+15550001111',
        to: '+15550002222',
        detectMachine: true,
        timeoutSeconds: 20,
        commandKey: 'k',
        ownerWorkflowId: workflowId,
      },
      callbacks,
    );
    const { params } = validBody(request);
    expect(params.url).toBeUndefined();
    expect(params.swml).toEqual({
      version: '1.0.0',
      sections: {
        main: [
          { detect_machine: { wait: false, status_url: params.status_url } },
          { transfer: { dest: documentUrl(callbacks.publicBaseUrl, callbacks.secret, workflowId) } },
        ],
      },
    });
  });

  it('refuses a ring timeout SignalWire would refuse', () => {
    const place = (timeoutSeconds: number) => () =>
      signalwirePlaceCallRequest(
        { from: '+1', to: '+2', timeoutSeconds, commandKey: 'k', ownerWorkflowId: workflowId },
        callbacks,
      );
    expect(place(0)).toThrow(CarrierError);
    expect(place(601)).toThrow(/1 to 600/);
  });

  it('builds update redirects and status changes that validate, with the call id in params', () => {
    const byUrl = validBody(
      updateRequest(callId, { url: 'https://gw.example.com/swml' }, 'answered', {
        fallback_url: 'https://gw.example.com/f',
      }),
    );
    expect(byUrl).toEqual({
      command: 'update',
      params: { id: callId, url: 'https://gw.example.com/swml', fallback_url: 'https://gw.example.com/f' },
    });
    validBody(updateRequest(callId, { swml: swmlDocument([{ play: { url: 'say:Hello' } }]) }, 'answered'));
    const completed = validBody(updateRequest(callId, { status: 'completed' }, 'answered'));
    expect(completed.params).toEqual({ id: callId, status: 'completed', swml: swmlDocument([{ hangup: {} }]) });
    validBody(updateRequest(callId, { status: 'canceled' }, 'ringing', { status_url: 'https://gw.example.com/s' }));
  });

  it('enforces the update rules before building anything', () => {
    expect(() => updateRequest(callId, { url: 'https://gw.example.com/swml' }, 'ringing')).toThrow(
      /only allowed while the call is answered/,
    );
    expect(() => updateRequest(callId, { status: 'canceled' }, 'answered')).toThrow(/queued or ringing/);
  });
});

const samples: { [K in CallOp]: Extract<CallCommandBody, { op: K }> } = {
  answer: { op: 'answer' },
  hangup: { op: 'hangup' },
  reject: { op: 'reject', reason: 'busy' },
  play: { op: 'play', url: 'https://cdn.example.com/hold.mp3', loop: 3 },
  say: { op: 'say', text: 'Hello there', voice: 'en-US-Wavenet-C', language: 'en-US' },
  stopPlayback: { op: 'stopPlayback' },
  gather: { op: 'gather', maxDigits: 4, timeoutMs: 8000 },
  stopGather: { op: 'stopGather' },
  recordStart: { op: 'recordStart', beep: false, maxSeconds: 60, channels: 'dual', format: 'wav' },
  recordStop: { op: 'recordStop' },
  recordPause: { op: 'recordPause' },
  recordResume: { op: 'recordResume' },
  bridge: { op: 'bridge', otherCallId: 'b1c2d3e4-5717-4562-b3fc-2c963f66afa6' },
  transfer: { op: 'transfer', to: '+15550003333', from: '+15550001111', timeoutSeconds: 20 },
  sendDtmf: { op: 'sendDtmf', digits: '1234#' },
  enqueue: { op: 'enqueue', queue: 'sales' },
  leaveQueue: { op: 'leaveQueue' },
  forkStart: { op: 'forkStart', rx: 'udp:198.51.100.7:40000' },
  forkStop: { op: 'forkStop' },
  clientStateUpdate: { op: 'clientStateUpdate' },
  sendFax: { op: 'sendFax', documentUrl: 'https://files.example.com/a.pdf' },
  receiveFax: { op: 'receiveFax' },
  connect: { op: 'connect', to: '+15550004444', from: '+15550001111', timeoutSeconds: 25 },
  redirect: { op: 'redirect' },
  mute: { op: 'mute' },
  unmute: { op: 'unmute' },
  // Detection and media (issue 10 item 4).
  detectMachine: { op: 'detectMachine', timeoutSeconds: 20, waitForBeep: true },
  streamStart: { op: 'streamStart', url: 'wss://media.example.com/stream', track: 'both' },
  streamStop: { op: 'streamStop' },
  startInputTimers: { op: 'startInputTimers' },
  playPause: { op: 'playPause' },
  playResume: { op: 'playResume' },
  playVolume: { op: 'playVolume', volumeDb: -6 },
  denoiseStart: { op: 'denoiseStart' },
  denoiseStop: { op: 'denoiseStop' },
  transcribeStart: { op: 'transcribeStart', language: 'en-GB', webhookUrl: 'https://gw.example.com/transcripts' },
  transcribeStop: { op: 'transcribeStop' },
  userEvent: { op: 'userEvent', event: { step: 'menu', attempt: 2 } },
  refer: { op: 'refer', to: 'sip:desk@pbx.example.com' },
  stopReceiveFax: { op: 'stopReceiveFax' },
  // supervisor controls:
  switchSupervisorRole: {
    op: 'switchSupervisorRole',
    role: 'whisper',
    room: 'supervised-1',
    agentCallId: 'b1c2d3e4-5717-4562-b3fc-2c963f66afa6',
  },
  // conferences:
  joinConference: { op: 'joinConference', name: 'room-1' },
  conferenceHold: { op: 'conferenceHold' },
  conferenceUnhold: { op: 'conferenceUnhold' },
  // Sent for the caller, carried out on the leg it is bridged to.
  moveToConference: {
    op: 'moveToConference',
    room: 'supervised-1',
    otherCallId: 'b1c2d3e4-5717-4562-b3fc-2c963f66afa6',
  },
  // A warm transfer: the consulted party takes over the agent's part in the room.
  rejoinConference: { op: 'rejoinConference', room: 'transfer-1', as: 'agent' },
};

const command = <K extends CallOp>(op: K, sequence = 7): CallCommand =>
  ({
    ...samples[op],
    callId,
    commandKey: commandKey(workflowId, sequence),
    ownerWorkflowId: workflowId,
  }) as CallCommand;

/** What SignalWire's REST API can express: the ops routed as commands, and the document steps with a REST form too. */
const REST_FORMS_OF_DOCUMENT_STEPS: CallOp[] = ['play', 'say', 'gather', 'recordStart'];
const restOps = (Object.keys(samples) as CallOp[]).filter(
  (op) => SIGNALWIRE_OPS[op] === 'command' || REST_FORMS_OF_DOCUMENT_STEPS.includes(op),
);

describe('flow commands as Calling API requests', () => {
  it.each(restOps)('%s becomes a valid request for the call', (op) => {
    const body = validBody(signalwireCommandRequest(command(op), context));
    // `update` names the call inside params; every other command at the top.
    const target = op === 'moveToConference' ? samples.moveToConference.otherCallId : callId;
    expect(body.command === 'update' ? body.params.id : body.id).toBe(target);
  });

  it('gives every operation it starts control_id = the command key and a status_url naming the session', () => {
    for (const op of ['play', 'say', 'gather', 'recordStart', 'forkStart'] as const) {
      const { params } = validBody(signalwireCommandRequest(command(op, 11), context));
      expect(params.control_id).toBe(commandKey(workflowId, 11));
      const statusUrl = new URL(params.status_url as string);
      expect(statusUrl.searchParams.get('wf')).toBe(workflowId);
    }
  });

  it('builds the same request for the same command (a retried activity repeats nothing new)', () => {
    for (const op of restOps) {
      expect(signalwireCommandRequest(command(op), context)).toEqual(signalwireCommandRequest(command(op), context));
    }
  });

  it('maps the flow options to SignalWire units and defaults', () => {
    expect(validBody(signalwireCommandRequest(command('gather'), context)).params).toMatchObject({
      digits: { max: 4, terminators: '#', digit_timeout: 3 },
      initial_timeout: 8,
      start_input_timers: true,
    });
    expect(validBody(signalwireCommandRequest(command('recordStart'), context)).params.record).toEqual({
      audio: { beep: false, format: 'wav', stereo: true, direction: 'both', max_length: 60, end_silence_timeout: 5 },
    });
    expect(validBody(signalwireCommandRequest(command('reject'), context)).params).toEqual({ reason: 'busy' });
    expect(validBody(signalwireCommandRequest(command('hangup'), context)).params).toEqual({ reason: 'hangup' });
    expect(validBody(signalwireCommandRequest(command('forkStart'), context)).params).toMatchObject({
      tap: { type: 'audio', params: { direction: 'speak' } },
      device: { type: 'rtp', params: { addr: '198.51.100.7', port: 40000 } },
    });
  });

  it('stops, pauses and resumes the operation named by targetControlId', () => {
    const { params } = validBody(signalwireCommandRequest(command('stopPlayback'), context));
    expect(params).toEqual({ control_id: context.targetControlId });
    const withoutTarget = () => signalwireCommandRequest(command('recordPause'), { callbacks });
    expect(withoutTarget).toThrow(CarrierError);
    expect(withoutTarget).toThrow(/control_id of the operation/);
  });

  it('sends a fork to a WebSocket target, and refuses one it cannot tap to', () => {
    const ws = { ...command('forkStart'), rx: 'wss://tap.example.com/a', tx: 'wss://tap.example.com/a' } as CallCommand;
    expect(validBody(signalwireCommandRequest(ws, context)).params).toMatchObject({
      tap: { params: { direction: 'both' } },
      device: { type: 'ws', params: { uri: 'wss://tap.example.com/a' } },
    });
    const bad = { ...command('forkStart'), rx: 'udp:tap.example.com:4000' } as CallCommand;
    let error: unknown;
    try {
      signalwireCommandRequest(bad, context);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(CarrierError);
    expect((error as CarrierError).type).toBe(ErrorType.InvalidCommand);
  });

  it('refuses operations that exist only as SWML with an InvalidCommand error naming the document route', () => {
    const refusal = (cmd: CallCommand) => {
      try {
        signalwireCommandRequest(cmd, context);
      } catch (err) {
        return err as CarrierError;
      }
      throw new Error(`${cmd.op} was built as a REST request`);
    };
    for (const op of ['answer', 'bridge', 'connect', 'sendDtmf', 'sendFax', 'receiveFax'] as const) {
      expect(SIGNALWIRE_OPS[op]).toBe('document');
      expect(refusal(command(op))).toMatchObject({
        type: ErrorType.InvalidCommand,
        message: expect.stringMatching(/only as a document step/),
      });
    }
    const prompted = { ...command('gather'), prompt: { say: 'Press 1' } } as CallCommand;
    expect(refusal(prompted).message).toMatch(/gather with a prompt/);
  });

  it('refuses what SignalWire cannot do with Unsupported, matching the op table', () => {
    for (const op of ['enqueue', 'leaveQueue', 'clientStateUpdate'] as const) {
      expect(SIGNALWIRE_OPS[op]).toBe('unsupported');
      expect(() => signalwireCommandRequest(command(op), context)).toThrow(/^signalwire does not support/);
      try {
        signalwireCommandRequest(command(op), context);
      } catch (err) {
        expect(err).toMatchObject({ type: ErrorType.Unsupported, retryable: false });
      }
    }
    expect(SIGNALWIRE_OPS.sendFax).toBe('document');
    expect(SIGNALWIRE_OPS.receiveFax).toBe('document');
  });
});

describe('responses and auth', () => {
  it('builds Basic auth from project id and API token', () => {
    const header = signalwireAuthorization('project-1', 'PT-token');
    expect(header).toBe(`Basic ${Buffer.from('project-1:PT-token').toString('base64')}`);
  });

  it('treats 404 and 422 on a call command as the call being gone, but not on dial', () => {
    expect(classifySignalWireResponse({ operation: 'calling.play', status: 200 })).toBeUndefined();
    expect(
      classifySignalWireResponse({ operation: 'calling.play', status: 404, body: { error: 'Not Found' } })?.type,
    ).toBe(ErrorType.CallGone);
    const validation = {
      errors: [
        { type: 'validation_error', code: 'invalid_parameter', message: 'url must be a valid http or https url' },
      ],
    };
    expect(classifySignalWireResponse({ operation: 'calling.end', status: 422, body: validation })?.type).toBe(
      ErrorType.CallGone,
    );
    const dial = classifySignalWireResponse({ operation: 'dial', status: 422, body: validation });
    expect(dial?.type).toBe(ErrorType.CarrierRejected);
    expect(dial?.retryable).toBe(false);
    const limited = classifySignalWireResponse({ operation: 'dial', status: 429, headers: { 'retry-after': '2' } });
    expect([limited?.type, limited?.retryable, limited?.retryAfterMs]).toEqual([
      ErrorType.CarrierUnavailable,
      true,
      2000,
    ]);
  });

  it('reads the placed call id, refusing a response without one (never retried: the call may exist)', () => {
    expect(signalwirePlacedCall({ id: callId, status: 'queued' })).toEqual({ callId });
    expect(() => signalwirePlacedCall({})).toThrow(CarrierError);
  });

  it('reconciles through the voice log', () => {
    expect(signalwireCallStatusRequest(callId)).toEqual({
      method: 'GET',
      path: `/api/voice/logs/${callId}`,
      operation: 'voice log',
    });
    expect(['queued', 'ringing', 'in-progress', 'answered'].map((status) => signalwireCallIsAlive({ status }))).toEqual(
      [true, true, true, true],
    );
    expect(
      ['completed', 'busy', 'no-answer', 'ended', 'ending'].some((status) => signalwireCallIsAlive({ status })),
    ).toBe(false);
    expect(signalwireCallIsAlive({ id: callId })).toBe(false);
  });
});
