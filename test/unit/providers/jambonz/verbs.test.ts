import type { CallCommandBody } from '../../../../src/calls/commands';
import { ErrorType } from '../../../../src/calls/errors';
import { CarrierError } from '../../../../src/providers/errors';
import {
  answerVerb,
  configVerb,
  confirmDocument,
  dequeueVerb,
  dialTarget,
  dialVerb,
  dtmfVerb,
  enqueueVerb,
  gatherVerb,
  hangupVerb,
  holdingDocument,
  JAMBONZ_PARKING_QUEUE,
  JambonzHook,
  leaveVerb,
  listenVerb,
  mapCommandToVerbs,
  operationHooks,
  pauseVerb,
  playVerb,
  queueHoldingDocument,
  redirectVerb,
  sayVerb,
  sipDeclineVerb,
  sipReferVerb,
  tagVerb,
  verifyConfirmHook,
  verifyHookToken,
  type JambonzVerb,
} from '../../../../src/providers/jambonz';
import { onTheWire, validateVerbDocument, VerbSpecError } from './verb-spec';

const hooks = operationHooks({
  publicBaseUrl: 'https://gateway.example.com',
  secret: 'hook-secret',
  workflowId: 'call:jambonz:5b6a0c1e',
  controlId: 'call:jambonz:5b6a0c1e#4',
  recordingStreamUrl: 'wss://gateway.example.com/jambonz/recordings',
});

/** Validates as jambonz receives it: JSON on the wire. */
function expectValidDocument(document: JambonzVerb[]): void {
  expect(() => validateVerbDocument(onTheWire(document))).not.toThrow();
}

describe('verb-spec validator', () => {
  it('accepts both verb forms', () => {
    expect(() => validateVerbDocument([{ verb: 'say', text: 'hi' }, { say: { text: 'hi' } }])).not.toThrow();
  });

  it.each([
    ['an unknown property', [{ verb: 'say', text: 'hi', colour: 'blue' }], 'say): unknown property colour'],
    ['a missing required property', [{ verb: 'play' }], 'missing value for url'],
    ['a wrong type', [{ verb: 'pause', length: '3' }], 'has invalid data type'],
    ['a bad enum value', [{ verb: 'listen', url: 'wss://x', mixType: 'quad' }], 'must be one of mono,stereo,mixed'],
    [
      'a bad nested type',
      [{ verb: 'say', text: 'hi', synthesizer: { language: 'en-US' } }],
      'missing value for vendor',
    ],
    ['a bad array item', [{ verb: 'dial', target: [{ number: '+15551234567' }] }], 'target[0]: missing value for type'],
    ['record, which the feature server cannot run', [{ verb: 'record', path: '/x' }], 'invalid instruction: record'],
    ['a nested type used as a verb', [{ verb: 'target', type: 'phone' }], 'invalid instruction: target'],
    ['an object with two keys and no verb', [{ say: { text: 'a' }, play: { url: 'b' } }], 'missing verb property'],
    ['a document that is not an array', { verb: 'say', text: 'hi' }, 'must be array'],
  ])('rejects %s', (_what, document, message) => {
    expect(() => validateVerbDocument(document)).toThrow(VerbSpecError);
    expect(() => validateVerbDocument(document)).toThrow(message);
  });

  it('accepts the `_` escape hatch the feature server allows', () => {
    expect(() => validateVerbDocument([{ verb: 'enqueue', name: 'q', _: { anything: true } }])).not.toThrow();
  });
});

describe('verb builders', () => {
  const url = 'https://gateway.example.com/webhooks/jambonz?hook=next';

  it.each<[string, JambonzVerb]>([
    ['answer', answerVerb()],
    ['say', sayVerb({ text: 'Hello', synthesizer: { vendor: 'google', language: 'en-US', voice: 'en-US-Wavenet-C' } })],
    ['say, looping', sayVerb({ text: ['Hi', 'Hello'], loop: 'forever', earlyMedia: true })],
    ['play', playVerb({ url: 'https://cdn.example.com/a.mp3', loop: 2, timeoutSecs: 30, actionHook: url })],
    [
      'gather with a say prompt, digits and speech',
      gatherVerb({
        input: ['digits', 'speech'],
        minDigits: 1,
        maxDigits: 4,
        interDigitTimeout: 3,
        finishOnKey: '#',
        timeout: 5,
        recognizer: { vendor: 'google', language: 'en-US', hints: ['sales'] },
        prompt: { say: 'Press or say a number', voice: 'en-US-Wavenet-C', language: 'en-US' },
        actionHook: url,
      }),
    ],
    [
      'gather with a play prompt',
      gatherVerb({ numDigits: 1, prompt: { play: 'https://cdn.example.com/menu.mp3' }, actionHook: url }),
    ],
    [
      'dial to phone, sip and user targets',
      dialVerb({
        target: [dialTarget('+15551234567'), dialTarget('sip:agent@pbx.example.com'), { type: 'user', name: 'alice' }],
        callerId: '+15557654321',
        timeout: 20,
        answerOnBridge: true,
        actionHook: url,
        amd: { actionHook: url },
      }),
    ],
    ['hangup', hangupVerb({ headers: { 'X-Reason': 'done' } })],
    ['sip:decline', sipDeclineVerb({ status: 486, reason: 'Busy Here' })],
    ['pause', pauseVerb({ length: 3 })],
    ['redirect', redirectVerb({ actionHook: url, statusHook: url })],
    [
      'listen',
      listenVerb({ url: 'wss://rec.example.com', mixType: 'stereo', maxLength: 60, playBeep: true, actionHook: url }),
    ],
    ['dtmf', dtmfVerb({ dtmf: '12#', duration: 250 })],
    ['sip:refer', sipReferVerb({ referTo: 'sip:desk@pbx.example.com', actionHook: url, eventHook: url })],
    ['enqueue', enqueueVerb({ name: 'sales', waitHook: url, actionHook: url, priority: 1 })],
    ['dequeue', dequeueVerb({ name: 'sales', callSid: 'c4f2', timeout: 10, beep: true, actionHook: url })],
    ['leave', leaveVerb()],
    ['tag', tagVerb({ data: { ownerWorkflowId: 'call:jambonz:x' } })],
    [
      'config',
      configVerb({
        synthesizer: { vendor: 'default', voice: 'en-US-Wavenet-C' },
        recognizer: { vendor: 'google', language: 'en-US' },
        listen: { enable: true, url: 'wss://fork.example.com', mixType: 'stereo' },
        onHoldMusic: 'https://cdn.example.com/hold.mp3',
        notifyEvents: false,
      }),
    ],
  ])('%s validates against the verb specifications', (_name, built) => {
    expectValidDocument([built]);
  });

  it('leaves out properties that were not set', () => {
    expect(playVerb({ url: 'https://a/b.mp3', loop: undefined, actionHook: undefined })).toEqual({
      verb: 'play',
      url: 'https://a/b.mp3',
    });
  });

  it('nests a gather prompt as jambonz wants it', () => {
    expect(gatherVerb({ prompt: { say: 'Hi' } })).toEqual({ verb: 'gather', say: { text: 'Hi' } });
    expect(gatherVerb({ prompt: { play: 'https://a/b.mp3' } })).toEqual({
      verb: 'gather',
      play: { url: 'https://a/b.mp3' },
    });
  });

  it('turns E.164 numbers and SIP URIs into dial targets and refuses anything else', () => {
    expect(dialTarget('+15551234567')).toEqual({ type: 'phone', number: '+15551234567' });
    expect(dialTarget('sip:bob@example.com')).toEqual({ type: 'sip', sipUri: 'sip:bob@example.com' });
    expect(() => dialTarget('5551234')).toThrow(CarrierError);
    expect(() => dialTarget('5551234')).toThrow('expected an E.164 number');
  });
});

describe('holding documents', () => {
  const next = hooks.url(JambonzHook.Next);

  it('pauses, then redirects back to the session with a string actionHook', () => {
    const document = holdingDocument(next, 3);
    expect(document).toEqual([
      { verb: 'pause', length: 3 },
      { verb: 'redirect', actionHook: next },
    ]);
    expectValidDocument(document);
    expect(verifyHookToken(next, ['hook-secret'])).toMatchObject({ ok: true, hook: 'next' });
  });

  it('answers a waitHook only with verbs a waitHook may hold', () => {
    const document = queueHoldingDocument();
    expectValidDocument(document);
    for (const verb of document) expect(['play', 'say', 'pause', 'leave']).toContain(verb.verb);
    expect(document.length).toBeGreaterThan(0); // an empty answer stops jambonz polling
  });
});

describe('mapCommandToVerbs', () => {
  const documentCommands: CallCommandBody[] = [
    { op: 'answer' },
    { op: 'hangup' },
    { op: 'reject', reason: 'busy' },
    { op: 'reject', reason: 'rejected' },
    { op: 'play', url: 'https://cdn.example.com/a.mp3', loop: 2 },
    { op: 'say', text: 'Welcome' },
    { op: 'say', text: 'Bienvenue', voice: 'fr-FR-Wavenet-A', language: 'fr-FR' },
    { op: 'gather' },
    {
      op: 'gather',
      prompt: { say: 'Press 1 for sales' },
      minDigits: 1,
      maxDigits: 3,
      timeoutMs: 8000,
      interDigitTimeoutMs: 2000,
      terminator: '*',
    },
    { op: 'gather', prompt: { play: 'https://cdn.example.com/menu.mp3' } },
    { op: 'recordStart' },
    { op: 'recordStart', beep: false, maxSeconds: 30, channels: 'dual' },
    { op: 'transfer', to: '+15551234567', from: '+15557654321', timeoutSeconds: 25 },
    { op: 'transfer', to: 'sip:agent@pbx.example.com' },
    { op: 'connect', to: '+15551234567', from: '+15557654321', whisper: 'Call from the support queue.' },
    { op: 'bridge', otherCallId: '9d3e2f10-caller' },
    { op: 'enqueue', queue: 'sales', maxWaitSeconds: 300 },
    { op: 'leaveQueue' },
    { op: 'sendDtmf', digits: '1234#' },
    { op: 'forkStart', rx: 'wss://fork.example.com/a' },
    { op: 'forkStart', rx: 'wss://fork.example.com/a', tx: 'wss://fork.example.com/a' },
    { op: 'forkStop' },
    { op: 'clientStateUpdate' },
  ];

  it.each(documentCommands.map((command) => [command.op, command] as const))(
    '%s maps to verbs that validate against the verb specifications',
    (_op, command) => {
      const verbs = mapCommandToVerbs(command, hooks);
      expect(verbs.length).toBeGreaterThan(0);
      expectValidDocument(verbs);
    },
  );

  it('follows a say with a redirect, which is how the session learns the say ended', () => {
    const [say, redirect] = mapCommandToVerbs({ op: 'say', text: 'Welcome', voice: 'v', language: 'en-GB' }, hooks);
    expect(say).toEqual({
      verb: 'say',
      text: 'Welcome',
      synthesizer: { vendor: 'default', language: 'en-GB', voice: 'v' },
    });
    expect(redirect).toEqual({ verb: 'redirect', actionHook: hooks.url(JambonzHook.Say) });
  });

  it('puts the flow API defaults into gather, in jambonz units (seconds)', () => {
    expect(mapCommandToVerbs({ op: 'gather', prompt: { say: 'Menu' } }, hooks)).toEqual([
      {
        verb: 'gather',
        input: ['digits'],
        minDigits: 1,
        maxDigits: 1,
        timeout: 5,
        interDigitTimeout: 3,
        finishOnKey: '#',
        say: { text: 'Menu' },
        actionHook: hooks.url(JambonzHook.Gather),
      },
    ]);
  });

  it('gives each verb that ends on its own a hook that names the session and the operation', () => {
    const [gather] = mapCommandToVerbs({ op: 'gather' }, hooks);
    const actionHook = (gather as { actionHook: string }).actionHook;
    expect(verifyHookToken(actionHook, ['hook-secret'])).toEqual({
      ok: true,
      hook: 'gather',
      workflowId: 'call:jambonz:5b6a0c1e',
      controlId: 'call:jambonz:5b6a0c1e#4',
    });
  });

  it('dials a transfer with the flow API ring time and answer-on-bridge', () => {
    expect(mapCommandToVerbs({ op: 'transfer', to: '+15551234567' }, hooks)).toEqual([
      {
        verb: 'dial',
        target: [{ type: 'phone', number: '+15551234567' }],
        timeout: 30,
        answerOnBridge: true,
        actionHook: hooks.url(JambonzHook.Dial),
      },
    ]);
  });

  it('whispers to the callee through a confirmHook whose signed URL carries the text', () => {
    const whisper = 'Call from the support queue.';
    const [dial] = mapCommandToVerbs({ op: 'connect', to: '+15551234567', whisper }, hooks);
    const { confirmHook } = dial as { confirmHook: string };
    expect(verifyConfirmHook(confirmHook, ['hook-secret'])).toEqual({
      ok: true,
      workflowId: 'call:jambonz:5b6a0c1e',
      text: whisper,
    });
    const forged = new URL(confirmHook);
    forged.searchParams.set('say', 'Something else.');
    expect(verifyConfirmHook(forged.toString(), ['hook-secret'])).toMatchObject({ ok: false });
    // Neither is a confirm hook a token for any other hook, nor the other way round.
    expect(verifyHookToken(confirmHook, ['hook-secret'])).toMatchObject({ ok: false });
    expect(verifyConfirmHook(hooks.url(JambonzHook.Confirm), ['hook-secret'])).toMatchObject({ ok: false });
    expectValidDocument(confirmDocument(whisper));
    expect(mapCommandToVerbs({ op: 'connect', to: '+15551234567' }, hooks)[0]).not.toHaveProperty('confirmHook');
  });

  it('parks enqueued callers in one jambonz queue and bridges by taking that exact call from it', () => {
    const [enqueue] = mapCommandToVerbs({ op: 'enqueue', queue: 'sales' }, hooks);
    const [dequeue] = mapCommandToVerbs({ op: 'bridge', otherCallId: 'caller-sid' }, hooks);
    expect(enqueue).toMatchObject({
      verb: 'enqueue',
      name: JAMBONZ_PARKING_QUEUE,
      waitHook: hooks.url(JambonzHook.Wait),
    });
    expect(dequeue).toMatchObject({ verb: 'dequeue', name: JAMBONZ_PARKING_QUEUE, callSid: 'caller-sid' });
  });

  it('records by streaming to the recording socket', () => {
    expect(mapCommandToVerbs({ op: 'recordStart', channels: 'dual' }, hooks)).toEqual([
      {
        verb: 'listen',
        url: 'wss://gateway.example.com/jambonz/recordings',
        mixType: 'stereo',
        maxLength: 120,
        playBeep: true,
        actionHook: hooks.url(JambonzHook.Listen),
      },
    ]);
  });

  it('tags the call with its owner for clientStateUpdate', () => {
    expect(mapCommandToVerbs({ op: 'clientStateUpdate' }, hooks)).toEqual([
      { verb: 'tag', data: { ownerWorkflowId: 'call:jambonz:5b6a0c1e' } },
    ]);
  });

  it('refuses recordStart without a recording socket', () => {
    const withoutSocket = operationHooks({
      publicBaseUrl: 'https://g',
      secret: 's',
      workflowId: 'w',
      controlId: 'w#1',
    });
    expect(() => mapCommandToVerbs({ op: 'recordStart' }, withoutSocket)).toThrow('no recording WebSocket URL');
  });

  it('refuses a fork to two different sockets', () => {
    const command: CallCommandBody = { op: 'forkStart', rx: 'wss://a', tx: 'wss://b' };
    expect(() => mapCommandToVerbs(command, hooks)).toThrow('one WebSocket');
  });

  it.each(['stopPlayback', 'stopGather', 'recordStop', 'recordPause', 'recordResume'] as const)(
    'refuses %s, which is Live Call Control',
    (op) => {
      let thrown: unknown;
      try {
        mapCommandToVerbs({ op }, hooks);
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toBeInstanceOf(CarrierError);
      expect(thrown).toMatchObject({ type: ErrorType.InvalidCommand, retryable: false });
      expect((thrown as Error).message).toContain('liveControlForCommand');
    },
  );

  it.each([{ op: 'sendFax', documentUrl: 'https://a/b.pdf' }, { op: 'receiveFax' }] as CallCommandBody[])(
    'fails fast with Unsupported for $op',
    (command) => {
      expect(() => mapCommandToVerbs(command, hooks)).toThrow(`jambonz does not support ${command.op} (no fax`);
      try {
        mapCommandToVerbs(command, hooks);
      } catch (err) {
        expect(err).toBeInstanceOf(CarrierError);
        expect(err).toMatchObject({ type: ErrorType.Unsupported, retryable: false });
      }
    },
  );
});
