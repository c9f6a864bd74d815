import { randomBytes } from 'node:crypto';
import {
  ErrorType,
  MEDIA_OPS,
  commandKey,
  type CallCommand,
  type MediaCommandBody,
  type MediaOp,
} from '../../../src/calls';
import { CarrierError } from '../../../src/providers/errors';
import {
  JAMBONZ_MEDIA_GAPS,
  JAMBONZ_OPS,
  JambonzHook,
  createJambonzCommands,
  mapCommandToVerbs,
  normaliseJambonzWebhook,
  operationHooks,
} from '../../../src/providers/jambonz';
import { SIGNALWIRE_OPS, normaliseStatusCallback, signalwireCommandRequest } from '../../../src/providers/signalwire';
import {
  TELNYX_MEDIA_GAPS,
  TELNYX_OPS,
  normaliseTelnyxWebhook,
  telnyxCommandRequest,
} from '../../../src/providers/telnyx';
import { validateTelnyxRequest } from '../../../src/simulator/telnyx/spec';
import { onTheWire, validateVerbDocument } from './jambonz/verb-spec';
import { callRequestErrors } from './signalwire/spec';

/**
 * Detection and media operations (issue 10 item 4) on every carrier: each request body validates against the
 * carrier's official spec, each carrier's terminal events normalise, and what a carrier lacks fails as
 * `Unsupported` naming the carrier and the gap.
 */

const SAMPLES: { [K in MediaOp]: Extract<MediaCommandBody, { op: K }> } = {
  detectMachine: { op: 'detectMachine', timeoutSeconds: 20, waitForBeep: true },
  streamStart: { op: 'streamStart', url: 'wss://media.example.com/stream', track: 'both' },
  streamStop: { op: 'streamStop', target: 'call:x#4' },
  startInputTimers: { op: 'startInputTimers', target: 'call:x#5' },
  playPause: { op: 'playPause', target: 'call:x#6' },
  playResume: { op: 'playResume', target: 'call:x#6' },
  playVolume: { op: 'playVolume', volumeDb: 6, target: 'call:x#6' },
  denoiseStart: { op: 'denoiseStart' },
  denoiseStop: { op: 'denoiseStop' },
  transcribeStart: { op: 'transcribeStart', language: 'en-US', webhookUrl: 'https://gw.example.com/transcripts' },
  transcribeStop: { op: 'transcribeStop' },
  userEvent: { op: 'userEvent', event: { step: 'menu', attempt: 2, done: false } },
  refer: { op: 'refer', to: 'sip:desk@pbx.example.com' },
  stopReceiveFax: { op: 'stopReceiveFax', target: 'fax-control-9' },
};

const owner = (provider: string) => `call:${provider}:3fa85f64-5717-4562-b3fc-2c963f66afa6`;
const command = (provider: string, body: MediaCommandBody, seq = 7): CallCommand => ({
  ...body,
  callId: '3fa85f64-5717-4562-b3fc-2c963f66afa6',
  commandKey: commandKey(owner(provider), seq),
  ownerWorkflowId: owner(provider),
});

function unsupportedError(build: () => unknown): CarrierError {
  try {
    build();
  } catch (err) {
    expect(err).toBeInstanceOf(CarrierError);
    expect((err as CarrierError).type).toBe(ErrorType.Unsupported);
    return err as CarrierError;
  }
  throw new Error('expected Unsupported');
}

describe('Telnyx detection and media commands', () => {
  const options = { connectionId: '1684641123236054244', voice: 'AWS.Polly.Joanna-Neural' };
  const supported = MEDIA_OPS.filter((op) => TELNYX_OPS[op] === 'command');
  const template = (path: string) => path.replace(/^\/calls\/[^/]+\/actions\//, '/calls/{call_control_id}/actions/');

  it.each(supported)('%s validates against the Call Control spec', (op) => {
    const request = telnyxCommandRequest(command('telnyx', SAMPLES[op]), options);
    expect(validateTelnyxRequest(template(request.path), 'post', request.body)).toEqual([]);
    expect(request.body).toMatchObject({ command_id: commandKey(owner('telnyx'), 7) });
  });

  it('streams, suppresses noise, transcribes and refers with the documented actions and fields', () => {
    const body = (op: MediaOp) => telnyxCommandRequest(command('telnyx', SAMPLES[op]), options);
    expect(body('streamStart')).toMatchObject({
      path: expect.stringMatching(/\/actions\/streaming_start$/),
      body: { stream_url: 'wss://media.example.com/stream', stream_track: 'both_tracks' },
    });
    expect(body('streamStop').path).toMatch(/\/actions\/streaming_stop$/);
    expect(body('denoiseStart')).toMatchObject({ operation: 'suppression_start', body: { direction: 'inbound' } });
    expect(body('denoiseStop').operation).toBe('suppression_stop');
    expect(body('transcribeStart').body).toMatchObject({
      transcription_engine: 'Google',
      transcription_engine_config: { language: 'en' },
    });
    expect(body('refer')).toMatchObject({ operation: 'refer', body: { sip_address: 'sip:desk@pbx.example.com' } });
  });

  it.each(MEDIA_OPS.filter((op) => TELNYX_OPS[op] === 'unsupported'))(
    '%s is Unsupported, saying what Telnyx lacks',
    (op) => {
      const err = unsupportedError(() => telnyxCommandRequest(command('telnyx', SAMPLES[op]), options));
      expect(err.message).toContain(`telnyx does not support ${op}`);
      expect(err.message).toContain(TELNYX_MEDIA_GAPS[op as keyof typeof TELNYX_MEDIA_GAPS]);
    },
  );

  it('normalises streaming and refer webhooks into their terminal events', () => {
    const webhook = (event_type: string, payload: Record<string, unknown>) =>
      normaliseTelnyxWebhook(
        Buffer.from(
          JSON.stringify({
            data: {
              record_type: 'event',
              event_type,
              id: `ev-${event_type}`,
              occurred_at: '2026-12-03T19:00:00Z',
              payload: { call_control_id: 'v3:abc', call_leg_id: 'leg-1', ...payload },
            },
          }),
        ),
      ).events;
    expect(webhook('streaming.started', { stream_url: 'wss://m/s' })).toMatchObject([
      { kind: 'stream.started', streamUrl: 'wss://m/s' },
    ]);
    expect(webhook('streaming.failed', { failure_reason: 'connection_failed' })).toMatchObject([
      { kind: 'stream.failed', reason: 'connection_failed' },
    ]);
    expect(webhook('call.refer.completed', { sip_notify_response: 200 })).toMatchObject([
      { kind: 'refer.ended', success: true, sipCode: 200 },
    ]);
    expect(webhook('call.refer.failed', { sip_notify_response: 603 })).toMatchObject([
      { kind: 'refer.ended', success: false, sipCode: 603 },
    ]);
    expect(webhook('call.refer.started', {})).toEqual([]);
    expect(webhook('call.machine.premium.detection.ended', { result: 'human_business' })).toMatchObject([
      { kind: 'machine.detection.ended', result: 'human' },
    ]);
  });
});

describe('SignalWire detection and media commands', () => {
  const callbacks = { publicBaseUrl: 'https://gw.example.com', secret: randomBytes(32).toString('base64url') };
  const build = (body: MediaCommandBody) => signalwireCommandRequest(command('signalwire', body), { callbacks });
  const params = (body: MediaCommandBody) => {
    const sent = build(body).body as { command: string; params: Record<string, unknown> };
    expect(callRequestErrors(sent)).toBe('');
    return sent;
  };

  it.each(MEDIA_OPS)('%s is a Calling API command that validates against the spec', (op) => {
    expect(SIGNALWIRE_OPS[op]).toBe('command');
    params(SAMPLES[op]);
  });

  it('names each command and its fields as the Calling API documents them', () => {
    expect(params(SAMPLES.detectMachine)).toMatchObject({
      command: 'calling.detect',
      params: {
        control_id: commandKey(owner('signalwire'), 7),
        detect: { type: 'machine', params: { detect_message_end: true } },
        timeout: 20,
      },
    });
    expect(params(SAMPLES.streamStart)).toMatchObject({
      command: 'calling.stream',
      params: { url: 'wss://media.example.com/stream', track: 'both_tracks' },
    });
    expect(params(SAMPLES.streamStop)).toMatchObject({
      command: 'calling.stream.stop',
      params: { control_id: 'call:x#4' },
    });
    expect(params(SAMPLES.startInputTimers).command).toBe('calling.collect.start_input_timers');
    expect(params(SAMPLES.playVolume)).toMatchObject({
      command: 'calling.play.volume',
      params: { control_id: 'call:x#6', volume: 6 },
    });
    expect(params(SAMPLES.denoiseStart)).toMatchObject({ command: 'calling.denoise', params: {} });
    expect(params(SAMPLES.transcribeStart)).toMatchObject({
      command: 'calling.live_transcribe',
      params: { action: { start: { lang: 'en-US', webhook: 'https://gw.example.com/transcripts' } } },
    });
    expect(params(SAMPLES.transcribeStop)).toMatchObject({ params: { action: 'stop' } });
    expect(params(SAMPLES.userEvent)).toMatchObject({
      command: 'calling.user_event',
      params: { event: SAMPLES.userEvent.event },
    });
    expect(params(SAMPLES.refer)).toMatchObject({
      command: 'calling.refer',
      params: { device: { type: 'sip', params: { to: 'sip:desk@pbx.example.com' } } },
    });
    expect(params(SAMPLES.stopReceiveFax)).toMatchObject({
      command: 'calling.receive_fax.stop',
      params: { control_id: 'fax-control-9' },
    });
  });

  it('refuses what SignalWire would refuse before sending it', () => {
    const invalid = (body: MediaCommandBody) => {
      expect(() => build(body)).toThrow(CarrierError);
      try {
        build(body);
      } catch (err) {
        expect((err as CarrierError).type).toBe(ErrorType.InvalidCommand);
      }
    };
    invalid({ op: 'streamStart', url: 'ws://media.example.com/plain' });
    invalid({ op: 'playVolume', volumeDb: 41, target: 'c' });
    invalid({ op: 'refer', to: '+15550001000' });
    // A stop needs the control_id of what it stops (a SWML step has none of ours).
    invalid({ op: 'streamStop' });
  });

  it('normalises detect, stream and refer callbacks into their terminal events', () => {
    const callback = (event_type: string, fields: Record<string, unknown>) =>
      normaliseStatusCallback(
        Buffer.from(
          JSON.stringify({
            event_type,
            timestamp: 1_777_565_701.5,
            params: { call_id: 'c-1', node_id: 'n-1', control_id: 'call:x#7', ...fields },
          }),
        ),
      );
    expect(
      callback('calling.call.detect', { detect: { type: 'machine', params: { event: 'MACHINE' } } }),
    ).toMatchObject([{ kind: 'machine.detection.ended', result: 'machine', controlId: 'call:x#7' }]);
    expect(
      callback('calling.call.detect', { detect: { type: 'machine', params: { event: 'READY', beep: true } } }),
    ).toMatchObject([{ kind: 'machine.greeting.ended', beep: true }]);
    expect(callback('calling.call.stream', { state: 'streaming', url: 'wss://m/s' })).toMatchObject([
      { kind: 'stream.started', streamUrl: 'wss://m/s' },
    ]);
    expect(callback('calling.call.stream', { state: 'finished', url: 'wss://m/s' })).toMatchObject([
      { kind: 'stream.stopped' },
    ]);
    expect(
      callback('calling.call.refer', {
        sip_refer_to: 'sip:desk@pbx.example.com',
        state: 'success',
        sip_refer_response_code: '202',
        sip_notify_response_code: '200',
      }),
    ).toMatchObject([{ kind: 'refer.ended', success: true, sipCode: 200 }]);
    expect(callback('calling.call.refer', { sip_refer_to: 'sip:a@b', state: 'error' })).toMatchObject([
      { kind: 'refer.ended', success: false },
    ]);
  });
});

describe('jambonz detection and media verbs', () => {
  const workflowId = owner('jambonz');
  const hooks = operationHooks({
    publicBaseUrl: 'https://gateway.example.com',
    secret: 'hook-secret',
    workflowId,
    controlId: `${workflowId}#4`,
  });
  const verbs = (body: MediaCommandBody) => {
    const document = mapCommandToVerbs(body, hooks);
    validateVerbDocument(onTheWire(document));
    return document;
  };

  it('detects machines in the background with config amd, its verdicts to the operation amd hook', () => {
    expect(JAMBONZ_OPS.detectMachine).toBe('document');
    const [config] = verbs(SAMPLES.detectMachine);
    expect(config).toEqual({
      verb: 'config',
      amd: { actionHook: hooks.url(JambonzHook.Amd), timers: { decisionTimeoutMs: 20_000 } },
    });
    const events = normaliseJambonzWebhook(
      JSON.stringify({ call_sid: 'cs-1', direction: 'inbound', type: 'amd_machine_detected' }),
      { hook: JambonzHook.Amd, controlId: `${workflowId}#4`, receivedAt: '2026-12-03T19:00:00Z' },
    ).events;
    expect(events).toMatchObject([
      { kind: 'machine.detection.ended', result: 'machine', controlId: `${workflowId}#4` },
    ]);
  });

  it('streams with a background listen: mono for the caller, stereo for both sides; stops it with enable false', () => {
    expect(verbs({ op: 'streamStart', url: 'wss://media.example.com/s' })).toEqual([
      { verb: 'config', listen: { enable: true, url: 'wss://media.example.com/s', mixType: 'mono' } },
    ]);
    expect(verbs(SAMPLES.streamStart)).toEqual([
      { verb: 'config', listen: { enable: true, url: 'wss://media.example.com/stream', mixType: 'stereo' } },
    ]);
    expect(verbs(SAMPLES.streamStop)).toEqual([{ verb: 'config', listen: { enable: false } }]);
    expect(() => verbs({ op: 'streamStart', url: 'wss://m/s', track: 'outbound' })).toThrow(
      /not only what the caller hears/,
    );
  });

  it.each(MEDIA_OPS.filter((op) => JAMBONZ_OPS[op] === 'unsupported'))(
    '%s is Unsupported, as a verb and as a command, saying what jambonz lacks',
    (op) => {
      const why = JAMBONZ_MEDIA_GAPS[op]!;
      expect(unsupportedError(() => mapCommandToVerbs(SAMPLES[op], hooks)).message).toContain(why);
      const carrier = createJambonzCommands({
        accountSid: 'acct',
        publicBaseUrl: 'https://gateway.example.com',
        hookSecret: 'hook-secret',
      });
      const err = unsupportedError(() => carrier.commandRequest(command('jambonz', SAMPLES[op])));
      expect(err.message).toBe(`jambonz does not support ${op} (${why})`);
    },
  );
});
