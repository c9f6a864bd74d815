import { randomBytes } from 'node:crypto';
import { commandKey, type CallCommand, type CallCommandBody, type CallEvent } from '../../../../src/calls';
import {
  documentForCommand,
  normaliseDocumentRequest,
  normaliseStatusCallback,
  type DocumentOp,
} from '../../../../src/providers/signalwire';
import { MalformedWebhookError } from '../../../../src/providers/types';
import { schemaErrors } from './spec';

const callId = '2e1e66e5-5d07-413d-9668-55542992eec0';
const ids = {
  node_id: 'a0d4e6e5-5d07-413d-9668-55542992eec0',
  segment_id: '7c1e66e5-5d07-413d-9668-55542992eec0',
  project_id: '4d0d6f16-5881-4fcc-92a4-02c51a91954d',
  space_id: '451ed9ff-e568-4222-8af9-4f9ab7428d09',
};
const workflowId = `call:signalwire:${callId}`;
const controlId = commandKey(workflowId, 4);
const timestamp = 1_777_565_701.5;
const occurredAt = new Date(timestamp * 1000).toISOString();

function callback(eventType: string, params: Record<string, unknown>, at = timestamp) {
  return {
    event_type: eventType,
    event_channel: `swml:${ids.space_id}`,
    timestamp: at,
    project_id: ids.project_id,
    space_id: ids.space_id,
    params: { call_id: callId, node_id: ids.node_id, ...params },
  };
}

const normalise = (body: unknown) => normaliseStatusCallback(Buffer.from(JSON.stringify(body)));
/** The events without their ids, for comparing content. */
const content = (events: CallEvent[]) => events.map(({ eventId: _id, ...rest }) => rest);
const base = { provider: 'signalwire', callId, occurredAt };
const op = { ...base, controlId };

describe('call state callbacks', () => {
  const state = (call_state: string, extra: Record<string, unknown> = {}) =>
    normalise(callback('calling.call.state', { call_state, direction: 'outbound', ...extra }));

  it('reports an outbound leg created, ringing, answered and ended', () => {
    const device = { type: 'phone', params: { from_number: '+15551231234', to_number: '+15553214321' } };
    expect(content(state('created', { device }))).toEqual([
      { ...base, kind: 'call.outgoing', from: '+15551231234', to: '+15553214321' },
    ]);
    expect(content(state('ringing'))).toEqual([{ ...base, kind: 'call.ringing' }]);
    expect(content(state('answered'))).toEqual([{ ...base, kind: 'call.answered' }]);
    expect(content(state('ended', { end_reason: 'hangup' }))).toEqual([
      { ...base, kind: 'call.ended', cause: 'normal', source: 'unknown' },
    ]);
  });

  it('reports an inbound leg as incoming, with SIP parties', () => {
    const device = { type: 'sip', params: { from: 'sip:alice@example.com', to: 'sip:ivr@example.com' } };
    expect(content(state('created', { direction: 'inbound', device }))).toEqual([
      {
        ...base,
        kind: 'call.incoming',
        direction: 'inbound',
        from: 'sip:alice@example.com',
        to: 'sip:ivr@example.com',
      },
    ]);
  });

  it('ignores ending (ended follows) and states it does not know', () => {
    expect(state('ending')).toEqual([]);
    expect(state('teleporting')).toEqual([]);
  });

  it.each([
    ['hangup', 'normal'],
    ['cancel', 'cancelled'],
    ['abandoned', 'cancelled'],
    ['busy', 'busy'],
    ['noAnswer', 'no-answer'],
    ['no_answer', 'no-answer'],
    ['no-answer', 'no-answer'],
    ['decline', 'rejected'],
    ['declined', 'rejected'],
    ['error', 'failed'],
    ['failed', 'failed'],
    ['maxDuration', 'time-limit'],
    ['max_duration', 'time-limit'],
    ['notFound', 'unreachable'],
    ['not_found', 'unreachable'],
    ['somethingNew', 'unknown'],
  ])('normalises end_reason %s to %s', (end_reason, cause) => {
    expect(state('ended', { end_reason })[0]).toMatchObject({ kind: 'call.ended', cause });
  });

  it.each([
    ['ended', 'unknown'],
    ['completed', 'normal'],
    ['busy', 'busy'],
    ['no-answer', 'no-answer'],
    ['failed', 'failed'],
    ['canceled', 'cancelled'],
  ])('takes the cause from an outcome state %s without end_reason', (callState, cause) => {
    expect(state(callState, { end_reason: null })[0]).toMatchObject({ kind: 'call.ended', cause });
  });
});

describe('operation callbacks', () => {
  it('play: playing starts, finished and error end, paused is nothing', () => {
    const play = (s: string) => content(normalise(callback('calling.call.play', { control_id: controlId, state: s })));
    expect(play('playing')).toEqual([{ ...op, kind: 'playback.started' }]);
    expect(play('paused')).toEqual([]);
    expect(play('finished')).toEqual([{ ...op, kind: 'playback.ended', status: 'completed' }]);
    expect(play('error')).toEqual([{ ...op, kind: 'playback.ended', status: 'failed' }]);
  });

  it('collect: digits, speech, no input, no match and error end the gather', () => {
    const collect = (result: unknown, extra: Record<string, unknown> = {}) =>
      content(normalise(callback('calling.call.collect', { control_id: controlId, result, ...extra })));
    expect(collect({ type: 'digit', params: { digits: '1234', terminator: '#' } })).toEqual([
      { ...op, kind: 'gather.ended', reason: 'complete', digits: '1234' },
    ]);
    expect(collect({ type: 'speech', params: { text: 'sales please', confidence: 0.93 } })).toEqual([
      {
        ...op,
        kind: 'gather.ended',
        reason: 'complete',
        digits: '',
        speech: { text: 'sales please', confidence: 0.93 },
      },
    ]);
    expect(collect({ type: 'no_input' })).toEqual([{ ...op, kind: 'gather.ended', reason: 'timeout', digits: '' }]);
    expect(collect({ type: 'no_match' })).toEqual([{ ...op, kind: 'gather.ended', reason: 'invalid', digits: '' }]);
    expect(collect({ type: 'error' })).toEqual([{ ...op, kind: 'gather.ended', reason: 'error', digits: '' }]);
    expect(collect({ type: 'start_of_input' })).toEqual([]);
    expect(collect({ type: 'speech', params: { text: 'sal' } }, { final: false })).toEqual([]);
  });

  it('record: finished saves (result beside state or nested under record), no_input and error fail', () => {
    const record = (params: Record<string, unknown>) =>
      content(normalise(callback('calling.call.record', { control_id: controlId, ...params })));
    const url = 'https://space.signalwire.com/api/v1/recordings/r1/download';
    expect(record({ state: 'recording' })).toEqual([]);
    expect(record({ state: 'paused', pause_behavior: 'skip' })).toEqual([]);
    expect(
      record({
        state: 'finished',
        url,
        duration: 15.2,
        size: 248320,
        recording_id: 'r1',
        record: { audio: { format: 'mp3' } },
      }),
    ).toEqual([{ ...op, kind: 'recording.saved', url, recordingId: 'r1', durationMs: 15200 }]);
    expect(record({ state: 'finished', record: { url, duration: 3, format: 'wav' } })).toEqual([
      { ...op, kind: 'recording.saved', url, durationMs: 3000 },
    ]);
    expect(record({ state: 'no_input', duration: 0 })).toEqual([
      { ...op, kind: 'recording.failed', reason: 'no_input' },
    ]);
    expect(record({ state: 'error' })).toEqual([{ ...op, kind: 'recording.failed', reason: 'error' }]);
  });

  it('detect machine: results, the greeting end, and lifecycle markers', () => {
    const detect = (event: string, beep?: boolean) =>
      content(
        normalise(
          callback('calling.call.detect', {
            control_id: controlId,
            segment_id: ids.segment_id,
            detect: { type: 'machine', params: beep === undefined ? { event } : { event, beep } },
          }),
        ),
      );
    expect(detect('HUMAN')).toEqual([{ ...op, kind: 'machine.detection.ended', result: 'human' }]);
    expect(detect('UNKNOWN')).toEqual([{ ...op, kind: 'machine.detection.ended', result: 'unknown' }]);
    expect(detect('fax')).toEqual([{ ...op, kind: 'machine.detection.ended', result: 'fax' }]);
    expect(detect('MACHINE', true)).toEqual([
      { ...op, kind: 'machine.detection.ended', result: 'machine' },
      { ...op, kind: 'machine.greeting.ended', beep: true },
    ]);
    expect(detect('READY')).toEqual([{ ...op, kind: 'machine.greeting.ended', beep: false }]);
    expect(detect('NOT_READY')).toEqual([]);
    expect(detect('finished')).toEqual([]);
  });

  it('detect fax tones and digits', () => {
    const detect = (type: string, event: string, at = timestamp) =>
      normalise(callback('calling.call.detect', { control_id: controlId, detect: { type, params: { event } } }, at));
    expect(content(detect('fax', 'CED'))).toEqual([{ ...op, kind: 'machine.detection.ended', result: 'fax' }]);
    expect(detect('fax', 'finished')).toEqual([]);
    expect(content(detect('digit', '5'))).toEqual([{ ...op, kind: 'dtmf', digit: '5' }]);
    // The same digit pressed twice is two events; the same press delivered twice is one.
    expect(detect('digit', '5', timestamp + 1)[0].eventId).not.toBe(detect('digit', '5')[0].eventId);
    expect(detect('digit', '5')[0].eventId).toBe(detect('digit', '5')[0].eventId);
  });

  it('tap and stream start and stop', () => {
    const tap = (state: string) => content(normalise(callback('calling.call.tap', { control_id: controlId, state })));
    expect(tap('tapping')).toEqual([{ ...op, kind: 'fork.started' }]);
    expect(tap('finished')).toEqual([{ ...op, kind: 'fork.stopped' }]);

    const stream = (state: string) =>
      callback('calling.call.stream', {
        segment_id: ids.segment_id,
        control_id: controlId,
        state,
        url: 'wss://example.com/stream',
        name: 'support',
      });
    expect(schemaErrors('Webhooks.Calling.StreamStatusCallbackPayload', stream('streaming'))).toBe('');
    expect(content(normalise(stream('streaming')))).toEqual([
      { ...op, kind: 'stream.started', streamUrl: 'wss://example.com/stream' },
    ]);
    expect(content(normalise(stream('finished')))).toEqual([
      { ...op, kind: 'stream.stopped', streamUrl: 'wss://example.com/stream' },
    ]);
  });

  it('fax: one event per page, then the result', () => {
    const fax = (type: string, params: Record<string, unknown>) =>
      normalise(callback('calling.call.fax', { control_id: 'server-fax-1', fax: { type, params } }));
    const faxOp = { ...base, controlId: 'server-fax-1' };
    const page1 = fax('page', { direction: 'send', number: 1 });
    const page2 = fax('page', { direction: 'send', number: 2 });
    expect(content(page1)).toEqual([{ ...faxOp, kind: 'fax.page', page: 1, direction: 'send' }]);
    expect(page1[0].eventId).not.toBe(page2[0].eventId);
    expect(content(fax('page', { direction: 'receive', number: 3 }))).toEqual([
      { ...faxOp, kind: 'fax.page', page: 3, direction: 'receive' },
    ]);
    expect(
      content(
        fax('finished', {
          direction: 'send',
          identity: '+15551231234',
          remote_identity: '+15553214321',
          document: 'https://example.com/fax.pdf',
          pages: 3,
          success: true,
          result: 0,
          result_text: 'OK',
          format: 'pdf',
        }),
      ),
    ).toEqual([
      {
        ...faxOp,
        kind: 'fax.ended',
        success: true,
        pages: 3,
        resultCode: '0',
        resultText: 'OK',
        remoteIdentity: '+15553214321',
        documentUrl: 'https://example.com/fax.pdf',
      },
    ]);
    expect(
      content(
        fax('finished', {
          direction: 'receive',
          pages: 1,
          success: false,
          result: 49,
          result_text: 'The call dropped prematurely',
        }),
      ),
    ).toEqual([
      {
        ...faxOp,
        kind: 'fax.ended',
        success: false,
        pages: 1,
        resultCode: '49',
        resultText: 'The call dropped prematurely',
      },
    ]);
    expect(content(fax('error', {}))).toEqual([{ ...faxOp, kind: 'fax.ended', success: false, pages: 0 }]);
  });

  it('connect: connected bridges, disconnected unbridges, failed is left to the hand-back', () => {
    const peer = { call_id: 'b1c2d3e4-5717-4562-b3fc-2c963f66afa6', node_id: ids.node_id };
    const connect = (connect_state: string, extra: Record<string, unknown> = {}) =>
      content(normalise(callback('calling.call.connect', { connect_state, ...extra })));
    expect(connect('connecting')).toEqual([]);
    expect(connect('connected', { peer })).toEqual([{ ...base, kind: 'bridged', otherCallId: peer.call_id }]);
    expect(connect('disconnected', { peer })).toEqual([{ ...base, kind: 'unbridged', otherCallId: peer.call_id }]);
    expect(connect('failed', { failed_reason: 'noAnswer' })).toEqual([]);
  });

  it('gives no events for callbacks a flow does not wait on', () => {
    // (calling.call.refer ends `call.refer`: test/unit/providers/media-ops.test.ts.)
    expect(normalise(callback('calling.call.denoise', { denoised: true }))).toEqual([]);
    expect(
      normalise({
        event_type: 'calling.transcript.completed',
        timestamp,
        project_id: ids.project_id,
        space_id: ids.space_id,
        params: { id: callId, call_id: callId, segment_id: ids.segment_id, text: 'hi' },
      }),
    ).toEqual([]);
  });
});

describe('event ids', () => {
  it('are the same for a duplicate delivery, even one restamped', () => {
    const body = callback('calling.call.play', { control_id: controlId, state: 'finished' });
    const first = normalise(body);
    expect(normalise(body)).toEqual(first);
    expect(normalise({ ...body, timestamp: timestamp + 30 })[0].eventId).toBe(first[0].eventId);
  });

  it('differ between operations, states and calls', () => {
    const play = (control_id: string, state: string, call_id = callId) =>
      normalise(callback('calling.call.play', { call_id, control_id, state }))[0].eventId;
    const idsSeen = [
      play(controlId, 'finished'),
      play(commandKey(workflowId, 5), 'finished'),
      play(controlId, 'playing'),
      play(controlId, 'finished', 'b1c2d3e4-5717-4562-b3fc-2c963f66afa6'),
    ];
    expect(new Set(idsSeen).size).toBe(idsSeen.length);
  });

  it('collapse one lifecycle fact reported by a state callback and by a document fetch', () => {
    const fromCallback = normalise(callback('calling.call.state', { call_state: 'answered', direction: 'inbound' }));
    const fetch = normaliseDocumentRequest(
      Buffer.from(JSON.stringify(fetchBody({ call_state: 'answered' }))),
      occurredAt,
    );
    const answered = fetch.events.find((e) => e.kind === 'call.answered');
    expect(answered?.eventId).toBe(fromCallback[0].eventId);
  });
});

describe('malformed callbacks', () => {
  it.each([
    ['not JSON', Buffer.from('{"event_type":'), /not JSON/],
    ['an array', Buffer.from('[]'), /not a JSON object/],
    ['no event_type', { timestamp, params: { call_id: callId } }, /event_type/],
    ['no params', { event_type: 'calling.call.play', timestamp }, /params/],
    ['no call_id', { event_type: 'calling.call.play', timestamp, params: { state: 'playing' } }, /params.call_id/],
    ['no timestamp', { event_type: 'calling.call.play', params: { call_id: callId, state: 'playing' } }, /timestamp/],
    ['a play without state', callback('calling.call.play', { control_id: controlId }), /params.state/],
    ['a collect without result', callback('calling.call.collect', { control_id: controlId }), /params.result/],
    ['a detect without detect', callback('calling.call.detect', { control_id: controlId }), /params.detect/],
    [
      'a fax page without number',
      callback('calling.call.fax', { fax: { type: 'page', params: { direction: 'send' } } }),
      /number/,
    ],
    [
      'a fax page without direction',
      callback('calling.call.fax', { fax: { type: 'page', params: { number: 1 } } }),
      /direction/,
    ],
    ['a state without call_state', callback('calling.call.state', {}), /call_state/],
  ])('throws MalformedWebhookError for %s', (_name, body, message) => {
    const raw = Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body));
    expect(() => normaliseStatusCallback(raw)).toThrow(MalformedWebhookError);
    expect(() => normaliseStatusCallback(raw)).toThrow(message);
  });
});

function fetchBody(call: Record<string, unknown> = {}, rest: Record<string, unknown> = {}) {
  return {
    call: {
      call_id: callId,
      node_id: ids.node_id,
      segment_id: ids.segment_id,
      call_state: 'created',
      direction: 'inbound',
      type: 'phone',
      from: '+15551231234',
      to: '+15553214321',
      from_number: '+15551231234',
      to_number: '+15553214321',
      headers: [],
      project_id: ids.project_id,
      space_id: ids.space_id,
      ...call,
    },
    vars: {},
    envs: {},
    params: {},
    ...rest,
  };
}

describe('SWML document fetches', () => {
  const receivedAt = '2026-01-02T03:04:05.000Z';
  const read = (body: unknown) => normaliseDocumentRequest(Buffer.from(JSON.stringify(body)), receivedAt);
  const fetchBase = { provider: 'signalwire', callId, occurredAt: receivedAt };

  it('reads an inbound call: ids, parties and a call.incoming event', () => {
    const body = fetchBody();
    expect(schemaErrors('Webhooks.Calling.InboundCallWebhookPayload', body)).toBe('');
    const fetch = read(body);
    expect({ ...fetch, events: content(fetch.events) }).toEqual({
      callId,
      direction: 'inbound',
      from: '+15551231234',
      to: '+15553214321',
      callState: 'created',
      events: [{ ...fetchBase, kind: 'call.incoming', direction: 'inbound', from: '+15551231234', to: '+15553214321' }],
    });
    expect(read(body).events[0].eventId).toBe(fetch.events[0].eventId);
  });

  it('reads SIP parties from from/to, and an answered outbound call as answered', () => {
    const sip = read(
      fetchBody({
        type: 'sip',
        from: 'sip:alice@example.com',
        to: 'sip:ivr@example.com',
        from_number: undefined,
        to_number: undefined,
      }),
    );
    expect([sip.from, sip.to]).toEqual(['sip:alice@example.com', 'sip:ivr@example.com']);
    const outbound = read(fetchBody({ direction: 'outbound', call_state: 'answered' }));
    expect(content(outbound.events)).toEqual([{ ...fetchBase, kind: 'call.answered' }]);
  });

  const callbacks = { publicBaseUrl: 'https://gw.example.com', secret: randomBytes(16).toString('hex') };
  const stepKey = commandKey(workflowId, 9);

  /** The fetch SignalWire makes when a document built for `command` hands the call back. */
  function handBack(command: CallCommandBody, vars: Record<string, unknown>) {
    const full = { ...command, callId, commandKey: stepKey, ownerWorkflowId: workflowId } as CallCommand;
    const main = documentForCommand(full, callbacks).sections.main;
    const transfer = main[main.length - 1] as { transfer: { params: Record<string, unknown> } };
    return read(fetchBody({ call_state: 'answered' }, { vars, params: transfer.transfer.params }));
  }
  const stepEvents = (fetch: ReturnType<typeof read>) =>
    content(fetch.events.filter((e) => !['call.incoming', 'call.answered'].includes(e.kind)));
  const step = { ...fetchBase, controlId: stepKey };

  it('names the step a hand-back comes from', () => {
    const fetch = handBack({ op: 'answer' }, { answer_result: 'success' });
    expect(fetch.step).toEqual({ key: stepKey, op: 'answer' satisfies DocumentOp });
    expect(content(fetch.events).map((e) => e.kind)).toEqual(['call.incoming', 'call.answered']);
  });

  it('turns prompt variables into the gather result', () => {
    const gather = { op: 'gather', prompt: { say: 'Press 1' } } as const;
    expect(
      stepEvents(handBack(gather, { prompt_result: 'match_digits', prompt_value: '1', prompt_digit_terminator: '#' })),
    ).toEqual([{ ...step, kind: 'gather.ended', reason: 'complete', digits: '1' }]);
    expect(
      stepEvents(
        handBack(gather, { prompt_result: 'match_speech', prompt_value: 'sales', prompt_speech_confidence: '87.5' }),
      ),
    ).toEqual([
      { ...step, kind: 'gather.ended', reason: 'complete', digits: '', speech: { text: 'sales', confidence: 87.5 } },
    ]);
    expect(stepEvents(handBack(gather, { prompt_result: 'no_input' }))[0]).toMatchObject({ reason: 'timeout' });
    expect(stepEvents(handBack(gather, { prompt_result: 'no_match', prompt_value: '7' }))[0]).toMatchObject({
      reason: 'invalid',
    });
    expect(stepEvents(handBack(gather, { prompt_result: 'failed' }))[0]).toMatchObject({ reason: 'error' });
  });

  it('turns record, connect, conference and fax variables into their results', () => {
    const url = 'https://space.signalwire.com/api/v1/recordings/r2/download';
    expect(stepEvents(handBack({ op: 'recordStart' }, { record_result: 'success', record_url: url }))).toEqual([
      { ...step, kind: 'recording.saved', url },
    ]);
    expect(stepEvents(handBack({ op: 'recordStart' }, { record_result: 'failed' }))).toEqual([
      { ...step, kind: 'recording.failed', reason: 'failed' },
    ]);
    const bridge = { op: 'bridge', otherCallId: 'b1c2d3e4-5717-4562-b3fc-2c963f66afa6' } as const;
    expect(stepEvents(handBack(bridge, { connect_result: 'connected', connect_failed_reason: 'none' }))).toEqual([
      { ...step, kind: 'unbridged' },
    ]);
    expect(stepEvents(handBack(bridge, { connect_result: 'failed', connect_failed_reason: 'noAnswer' }))).toEqual([]);
    // join_conference returns when the call is out of the conference, whether it was in it or never got in.
    const join = { op: 'joinConference', name: 'r1' } as const;
    for (const result of ['completed', 'failed'])
      expect(stepEvents(handBack(join, { join_conference_result: result, return_value: result }))).toEqual([
        { ...step, kind: 'conference.left' },
      ]);
    expect(
      stepEvents(
        handBack(
          { op: 'sendFax', documentUrl: 'https://files.example.com/a.pdf' },
          {
            send_fax_result: 'success',
            send_fax_pages: '2',
            send_fax_result_code: '0',
            send_fax_result_text: 'OK',
            send_fax_remote_identity: '+15553214321',
            send_fax_document: 'https://files.example.com/a.pdf',
          },
        ),
      ),
    ).toEqual([
      {
        ...step,
        kind: 'fax.ended',
        success: true,
        pages: 2,
        resultCode: '0',
        resultText: 'OK',
        remoteIdentity: '+15553214321',
        documentUrl: 'https://files.example.com/a.pdf',
      },
    ]);
    expect(
      stepEvents(
        handBack(
          { op: 'receiveFax' },
          { receive_fax_result: 'failed', receive_fax_pages: 0, receive_fax_result_code: 49 },
        ),
      ),
    ).toEqual([{ ...step, kind: 'fax.ended', success: false, pages: 0, resultCode: '49' }]);
  });

  it('gives a recording and a fax the same id from the hand-back as from their status callback', () => {
    const url = 'https://space.signalwire.com/api/v1/recordings/r3/download';
    const fromStep = handBack({ op: 'recordStart' }, { record_result: 'success', record_url: url }).events.find(
      (e) => e.kind === 'recording.saved',
    );
    const fromCallback = normalise(
      callback('calling.call.record', { control_id: 'server-record-1', state: 'finished', url, duration: 4 }),
    );
    expect(fromStep?.eventId).toBe(fromCallback[0].eventId);

    const document = 'https://files.example.com/a.pdf';
    const faxStep = handBack(
      { op: 'sendFax', documentUrl: document },
      { send_fax_result: 'success', send_fax_pages: '2', send_fax_result_code: '0', send_fax_document: document },
    ).events.find((e) => e.kind === 'fax.ended');
    const faxCallback = normalise(
      callback('calling.call.fax', {
        control_id: 'server-fax-2',
        fax: {
          type: 'finished',
          params: { direction: 'send', document, pages: 2, success: true, result: 0, result_text: 'OK' },
        },
      }),
    );
    expect(faxStep?.eventId).toBe(faxCallback[0].eventId);
  });

  it('reads a hold running out, or a fetch after a redirect, as no step', () => {
    expect(read(fetchBody({ call_state: 'answered' }, { params: { op: 'hold' } })).step).toBeUndefined();
    expect(read(fetchBody({ call_state: 'answered' }, { params: { op: 'teleport', step: 'x' } })).step).toBeUndefined();
  });

  it('throws MalformedWebhookError for a fetch it cannot read', () => {
    expect(() => read({ vars: {} })).toThrow(/missing call object/);
    expect(() => read(fetchBody({ call_id: '' }))).toThrow(/call.call_id/);
    expect(() => read(fetchBody({ direction: 'sideways' }))).toThrow(MalformedWebhookError);
  });
});
