import { randomBytes } from 'node:crypto';
import { commandKey, type CallCommand, type CallCommandBody } from '../../../../src/calls';
import {
  DOCUMENT_OPS,
  MAX_PLAY_REPEATS,
  SIGNALWIRE_OPS,
  answerMethod,
  documentForCommand,
  documentForCommands,
  documentUrl,
  hasDocumentForm,
  holdingDocument,
  sendFaxMethod,
  receiveFaxMethod,
  handBackMethod,
  statusCallbackUrl,
  swmlDocument,
  type DocumentOp,
  type SwmlDocument,
} from '../../../../src/providers/signalwire';
import { documentOps } from '../../../../src/providers/ops';
import { schemaErrors } from './spec';

const callId = '3fa85f64-5717-4562-b3fc-2c963f66afa6';
const workflowId = `call:signalwire:${callId}`;
const callbacks = { publicBaseUrl: 'https://gw.example.com', secret: randomBytes(32).toString('base64url') };
const sessionUrl = documentUrl(callbacks.publicBaseUrl, callbacks.secret, workflowId);
const statusUrl = statusCallbackUrl(callbacks.publicBaseUrl, callbacks.secret, workflowId);

const validSwml = (document: SwmlDocument) => expect(schemaErrors('SWML.Calling.SWMLObject', document)).toBe('');

const samples: { [K in DocumentOp]: Extract<CallCommandBody, { op: K }> } = {
  answer: { op: 'answer' },
  hangup: { op: 'hangup' },
  reject: { op: 'reject', reason: 'rejected' },
  say: { op: 'say', text: 'Connecting you to an agent.', voice: 'Polly.Joanna', language: 'en-US' },
  play: { op: 'play', url: 'https://cdn.example.com/hold.mp3', loop: 3 },
  gather: {
    op: 'gather',
    prompt: { say: 'Press 1 for sales,\nor 2 to leave a message', voice: 'Polly.Joanna' },
    maxDigits: 1,
  },
  recordStart: { op: 'recordStart', beep: true, maxSeconds: 90 },
  bridge: { op: 'bridge', otherCallId: 'b1c2d3e4-5717-4562-b3fc-2c963f66afa6' },
  sendDtmf: { op: 'sendDtmf', digits: '1w2#' },
  sendFax: {
    op: 'sendFax',
    documentUrl: 'https://files.example.com/a.pdf',
    headerInfo: 'Invoice 12',
    identity: '+15550001111',
  },
  receiveFax: { op: 'receiveFax' },
  connect: {
    op: 'connect',
    to: '+15550004444',
    from: '+15550001111',
    timeoutSeconds: 25,
    whisper: 'Call from the support queue.',
  },
  joinConference: { op: 'joinConference', name: 'team-r1', endOnExit: true, beep: true, maxParticipants: 10 },
};

const command = (op: DocumentOp): CallCommand =>
  ({ ...samples[op], callId, commandKey: commandKey(workflowId, 5), ownerWorkflowId: workflowId }) as CallCommand;

describe('documents for flow operations', () => {
  it('are checked by a validator that does refuse bad documents', () => {
    expect(schemaErrors('SWML.Calling.SWMLObject', swmlDocument([{ prompt: { play: 'say:two\nlines' } }]))).not.toBe(
      '',
    );
    expect(schemaErrors('SWML.Calling.SWMLObject', swmlDocument([{ answer: { max_duration: 'long' } }]))).not.toBe('');
    expect(schemaErrors('SWML.Calling.SWMLObject', swmlDocument([{ teleport: {} }]))).not.toBe('');
  });

  it.each([...DOCUMENT_OPS])('%s builds a document that validates against the SWML schema', (op) => {
    validSwml(documentForCommand(command(op), callbacks));
  });

  it('hands the call back to the session after each step, naming the step', () => {
    const handBack = { transfer: { dest: sessionUrl, params: { op: 'answer', step: commandKey(workflowId, 5) } } };
    expect(documentForCommand(command('answer'), callbacks)).toEqual(swmlDocument([{ answer: {} }, handBack]));
  });

  it('ends the call without a hand-back for hangup and reject', () => {
    expect(documentForCommand(command('hangup'), callbacks)).toEqual(swmlDocument([{ hangup: { reason: 'hangup' } }]));
    expect(documentForCommand(command('reject'), callbacks)).toEqual(swmlDocument([{ hangup: { reason: 'decline' } }]));
  });

  it('plays the prompt as one line of SWML say: text, with the flow defaults for collecting', () => {
    const [prompt] = documentForCommand(command('gather'), callbacks).sections.main;
    expect(prompt).toEqual({
      prompt: {
        play: 'say:Press 1 for sales, or 2 to leave a message',
        say_voice: 'Polly.Joanna',
        max_digits: 1,
        terminators: '#',
        digit_timeout: 3,
        initial_timeout: 5,
      },
    });
    const noPrompt = { ...command('gather'), prompt: undefined } as CallCommand;
    validSwml(documentForCommand(noPrompt, callbacks));
  });

  it('asks for status callbacks where progress matters: bridge and fax', () => {
    const main = (op: DocumentOp) => documentForCommand(command(op), callbacks).sections.main[0];
    expect(main('bridge')).toEqual({
      connect: { to: 'call:b1c2d3e4-5717-4562-b3fc-2c963f66afa6', status_url: statusUrl },
    });
    expect(main('sendFax')).toEqual({
      send_fax: {
        document: 'https://files.example.com/a.pdf',
        header_info: 'Invoice 12',
        identity: '+15550001111',
        status_url: statusUrl,
      },
    });
    expect(main('receiveFax')).toEqual({ receive_fax: { status_url: statusUrl } });
  });

  it('joins a conference with join_conference, beeping on entry only, then hands the call back', () => {
    const [join, handBack] = documentForCommand(command('joinConference'), callbacks).sections.main;
    expect(join).toEqual({
      join_conference: { name: 'team-r1', beep: 'onEnter', end_on_exit: true, max_participants: 10 },
    });
    expect(handBack).toEqual({
      transfer: { dest: sessionUrl, params: { op: 'joinConference', step: commandKey(workflowId, 5) } },
    });
    const muted = { ...command('joinConference'), beep: false, muted: true, startOnEnter: false } as CallCommand;
    expect(documentForCommand(muted, callbacks).sections.main[0]).toMatchObject({
      join_conference: { beep: 'false', muted: true, start_on_enter: false },
    });
    validSwml(documentForCommand(muted, callbacks));
  });

  it('whispers to the callee with an inline confirm before connecting it', () => {
    expect(documentForCommand(command('connect'), callbacks).sections.main[0]).toEqual({
      connect: {
        to: '+15550004444',
        from: '+15550001111',
        timeout: 25,
        status_url: statusUrl,
        confirm: [{ play: { url: 'say:Call from the support queue.' } }],
      },
    });
  });

  it('answers with a longer call limit than the four-hour SignalWire default when asked', () => {
    const document = swmlDocument([answerMethod(8 * 3600), handBackMethod(sessionUrl)]);
    validSwml(document);
    expect(document.sections.main[0]).toEqual({ answer: { max_duration: 28800 } });
  });

  it('builds an outbound fax document from its parts (dial with inline SWML)', () => {
    validSwml(
      swmlDocument([sendFaxMethod({ documentUrl: 'https://files.example.com/a.pdf' }), handBackMethod(sessionUrl)]),
    );
    validSwml(swmlDocument([receiveFaxMethod(), handBackMethod(sessionUrl, { op: 'receiveFax', step: 'k' })]));
  });

  it('refuses operations that are REST commands only', () => {
    const stop = { op: 'stopPlayback', callId, commandKey: 'k', ownerWorkflowId: workflowId } as CallCommand;
    expect(hasDocumentForm(stop)).toBe(false);
    expect(() => documentForCommand(stop, callbacks)).toThrow(/no SWML document form/);
  });

  it('speaks and plays as document steps (say: playables; a loop repeats the URL)', () => {
    expect(documentForCommand(command('say'), callbacks).sections.main[0]).toEqual({
      play: { url: 'say:Connecting you to an agent.', say_voice: 'Polly.Joanna', say_language: 'en-US' },
    });
    const url = 'https://cdn.example.com/hold.mp3';
    expect(documentForCommand(command('play'), callbacks).sections.main[0]).toEqual({
      play: { urls: [url, url, url] },
    });
    const once = { ...command('play'), loop: undefined } as CallCommand;
    expect(documentForCommand(once, callbacks).sections.main[0]).toEqual({ play: { url } });
    const forever = { ...command('play'), loop: 0 } as CallCommand;
    const main = documentForCommand(forever, callbacks).sections.main;
    expect((main[0].play as { urls: string[] }).urls).toHaveLength(MAX_PLAY_REPEATS);
    validSwml(documentForCommand(forever, callbacks));
  });

  it('asks a voicemail recording for status callbacks: a caller who hangs up ends the document before its hand-back', () => {
    expect(documentForCommand(command('recordStart'), callbacks).sections.main[0]).toEqual({
      record: {
        beep: true,
        format: 'mp3',
        stereo: false,
        max_length: 90,
        end_silence_timeout: 5,
        direction: 'speak',
        status_url: statusUrl,
      },
    });
  });

  it('sends only operations with a document form as documents', () => {
    const sentAsDocuments = documentOps(SIGNALWIRE_OPS);
    for (const op of sentAsDocuments) expect(DOCUMENT_OPS).toContain(op);
    expect(sentAsDocuments).not.toContain('hangup');
  });

  it('renders several queued steps as one document with one hand-back, naming the last step', () => {
    const say = { ...command('say'), commandKey: commandKey(workflowId, 6) } as CallCommand;
    const gather = { ...command('gather'), commandKey: commandKey(workflowId, 7) } as CallCommand;
    const document = documentForCommands([say, gather], callbacks);
    validSwml(document);
    expect(document.sections.main.map((m) => Object.keys(m)[0])).toEqual(['play', 'prompt', 'transfer']);
    expect(document.sections.main[2]).toEqual({
      transfer: { dest: sessionUrl, params: { op: 'gather', step: commandKey(workflowId, 7) } },
    });
    expect(documentForCommands([say], callbacks)).toEqual(documentForCommand(say, callbacks));
    const hangup = { ...command('hangup'), commandKey: commandKey(workflowId, 8) } as CallCommand;
    expect(documentForCommands([say, hangup, gather], callbacks).sections.main.map((m) => Object.keys(m)[0])).toEqual([
      'play',
      'hangup',
    ]);
    expect(() => documentForCommands([], callbacks)).toThrow(TypeError);
  });
});

describe('holding document', () => {
  it('rings as early media while the call is unanswered, then comes back', () => {
    const document = holdingDocument({ documentUrl: sessionUrl, answered: false });
    validSwml(document);
    expect(document.sections.main).toEqual([
      { play: { url: 'ring:5:us', auto_answer: false } },
      { transfer: { dest: sessionUrl, params: { op: 'hold' } } },
    ]);
  });

  it('sleeps once the call is answered, so REST commands can run, then comes back', () => {
    const document = holdingDocument({ documentUrl: sessionUrl, answered: true, seconds: 12.5 });
    validSwml(document);
    expect(document.sections.main[0]).toEqual({ sleep: 12500 });
  });

  it('names itself in the hand-back, so two holds of one call never post the same bytes', () => {
    const document = holdingDocument({ documentUrl: sessionUrl, answered: true, holdId: 'h-1' });
    validSwml(document);
    expect(document.sections.main[1]).toEqual({ transfer: { dest: sessionUrl, params: { op: 'hold', hold: 'h-1' } } });
  });

  it('takes another ring cadence', () => {
    const document = holdingDocument({ documentUrl: sessionUrl, answered: false, seconds: 3, ringtone: 'uk' });
    validSwml(document);
    expect(document.sections.main[0]).toEqual({ play: { url: 'ring:3:uk', auto_answer: false } });
  });
});
