import { MalformedWebhookError } from '../../../../src/providers/types';
import {
  JAMBONZ_PARKING_QUEUE,
  normaliseJambonzWebhook,
  type JambonzHook,
  type JambonzHookContext,
} from '../../../../src/providers/jambonz';

const CALL_SID = '2c3f6b1e-0d0e-4a5b-9f44-8a3e2c1b0a01';
const CHILD_SID = '7e8d9c0b-1a2b-4c3d-8e9f-0a1b2c3d4e5f';
const ACCOUNT_SID = '9351f46a-678c-43f5-b8a6-d4eb58d131af';
const CONTROL_ID = `call:jambonz:${CALL_SID}#3`;
const receivedAt = '2026-01-15T12:00:00.000Z';

/** `CallInfo.toJSON()` snake_cased, as every jambonz HTTP hook carries it (research/jambonz.md §3.3). */
function callInfo(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    call_sid: CALL_SID,
    direction: 'inbound',
    from: '+15551230000',
    to: '+15559870000',
    call_id: '6c1d2e3f@10.0.0.5',
    sip_status: 200,
    sip_reason: 'OK',
    call_status: 'in-progress',
    account_sid: ACCOUNT_SID,
    trace_id: '4bf92f3577b34da6a3ce929d0e0e4736',
    application_sid: '0dddaabf-0a85-4a4c-b3c4-0c0e8b9c1e2d',
    fs_sip_address: '10.0.1.7:5070',
    ...overrides,
  };
}

/** `controlId: null` for a hook whose URL names no operation (application hooks). */
function normalise(hook: JambonzHook, payload: Record<string, unknown>, controlId: string | null = CONTROL_ID) {
  const context: JambonzHookContext = { hook, receivedAt, ...(controlId !== null && { controlId }) };
  return normaliseJambonzWebhook(Buffer.from(JSON.stringify(payload)), context);
}

const base = { provider: 'jambonz', callId: CALL_SID, occurredAt: receivedAt };
const op = (hook: string, what: string) => `jambonz:${CALL_SID}:${hook}:${CONTROL_ID}:${what}`;

describe('call_hook (session:new)', () => {
  it('starts an inbound call with from, to and direction, owned by its own session', () => {
    const payload = callInfo({
      call_status: 'trying',
      sip_status: 100,
      caller_name: 'Ada',
      sip: { headers: { 'X-CID': 'abc' }, method: 'INVITE' },
    });
    expect(normalise('call', payload, null)).toEqual({
      ownerWorkflowId: `call:jambonz:${CALL_SID}`,
      events: [
        {
          ...base,
          eventId: `jambonz:${CALL_SID}:incoming`,
          kind: 'call.incoming',
          direction: 'inbound',
          from: '+15551230000',
          to: '+15559870000',
        },
      ],
    });
  });

  it('reports an outbound call we placed as answered (jambonz asks only once the callee answers)', () => {
    const payload = callInfo({ direction: 'outbound', customerData: { ownerWorkflowId: 'call:jambonz:out:req-1' } });
    const routed = normalise('call', payload, null);
    expect(routed.ownerWorkflowId).toBe('call:jambonz:out:req-1');
    expect(routed.events.map((event) => [event.kind, event.eventId])).toEqual([
      ['call.incoming', `jambonz:${CALL_SID}:incoming`],
      ['call.answered', `jambonz:${CALL_SID}:answered`],
    ]);
    expect(routed.events[0]).toMatchObject({ direction: 'outbound' });
  });
});

describe('call_status_hook', () => {
  it.each([
    ['ringing', 'call.ringing', `jambonz:${CALL_SID}:status:ringing`],
    ['early-media', 'call.ringing', `jambonz:${CALL_SID}:status:early-media`],
    ['in-progress', 'call.answered', `jambonz:${CALL_SID}:answered`],
  ])('maps %s to %s', (status, kind, eventId) => {
    expect(normalise('status', callInfo({ call_status: status })).events).toEqual([{ ...base, kind, eventId }]);
  });

  it('maps trying to call.incoming for an inbound call, with the id session:new gives it', () => {
    const [event] = normalise('status', callInfo({ call_status: 'trying', sip_status: 100 })).events;
    expect(event).toEqual({
      ...base,
      eventId: `jambonz:${CALL_SID}:incoming`,
      kind: 'call.incoming',
      direction: 'inbound',
      from: '+15551230000',
      to: '+15559870000',
    });
  });

  it('maps trying to call.outgoing for an outbound call', () => {
    const [event] = normalise('status', callInfo({ call_status: 'trying', direction: 'outbound' })).events;
    expect(event).toMatchObject({ kind: 'call.outgoing', eventId: `jambonz:${CALL_SID}:outgoing` });
  });

  it.each([
    ['completed', 'inbound', 200, 'caller', { cause: 'normal', source: 'caller' }],
    ['completed', 'outbound', 200, 'caller', { cause: 'normal', source: 'callee' }],
    ['completed', 'inbound', 200, 'jambonz', { cause: 'normal', source: 'app' }],
    ['no-answer', 'inbound', 487, undefined, { cause: 'cancelled', source: 'caller' }],
    ['no-answer', 'outbound', 487, undefined, { cause: 'no-answer', source: 'unknown' }],
    ['busy', 'outbound', 486, undefined, { cause: 'busy', source: 'unknown' }],
    ['failed', 'outbound', 404, undefined, { cause: 'unreachable', source: 'unknown' }],
    ['failed', 'outbound', 603, undefined, { cause: 'rejected', source: 'unknown' }],
    ['failed', 'outbound', 503, undefined, { cause: 'failed', source: 'unknown' }],
  ])(
    'maps %s (%s, SIP %s, ended by %s) to a normalised end',
    (status, direction, sipStatus, terminatedBy, expected) => {
      const payload = callInfo({
        call_status: status,
        direction,
        sip_status: sipStatus,
        ...(status === 'completed' && { duration: 42 }),
        ...(terminatedBy !== undefined && { call_termination_by: terminatedBy }),
      });
      expect(normalise('status', payload).events).toEqual([
        { ...base, eventId: `jambonz:${CALL_SID}:ended`, kind: 'call.ended', sipCode: sipStatus, ...expected },
      ]);
    },
  );

  it('reports the answer of a dialed leg on that leg, bridges it to its parent and routes it to the parent session', () => {
    const routed = normalise(
      'status',
      callInfo({ call_sid: CHILD_SID, direction: 'outbound', parent_call_sid: CALL_SID }),
    );
    expect(routed.ownerWorkflowId).toBe(`call:jambonz:${CALL_SID}`);
    expect(routed.events).toEqual([
      { ...base, callId: CHILD_SID, eventId: `jambonz:${CHILD_SID}:answered`, kind: 'call.answered' },
      { ...base, eventId: `jambonz:${CALL_SID}:bridged:${CHILD_SID}`, kind: 'bridged', otherCallId: CHILD_SID },
    ]);
  });

  it('has nothing to say about queued', () => {
    expect(normalise('status', callInfo({ call_status: 'queued' })).events).toEqual([]);
  });

  it('gives a retried delivery the same event id', () => {
    const payload = callInfo({ call_status: 'completed', duration: 12 });
    expect(normalise('status', payload).events).toEqual(normalise('status', payload).events);
  });
});

describe('redirect hooks', () => {
  it('reports the answer when the session is asked again on an answered call', () => {
    expect(normalise('next', callInfo()).events).toEqual([
      { ...base, eventId: `jambonz:${CALL_SID}:answered`, kind: 'call.answered' },
    ]);
  });

  it('reports nothing on an unanswered call', () => {
    expect(normalise('next', callInfo({ call_status: 'trying' })).events).toEqual([]);
  });

  it('ends the say that the redirect follows', () => {
    expect(normalise('say', callInfo()).events).toEqual([
      { ...base, controlId: CONTROL_ID, eventId: op('say', 'ended'), kind: 'speak.ended', status: 'completed' },
    ]);
  });

  it('cancels the play or say that a stopPlayback interrupted', () => {
    expect(
      normalise('playback-stopped', callInfo()).events.map((event) => [event.kind, 'status' in event && event.status]),
    ).toEqual([
      ['playback.ended', 'cancelled'],
      ['speak.ended', 'cancelled'],
    ]);
  });

  it('cancels the gather that a stopGather interrupted', () => {
    expect(normalise('gather-stopped', callInfo()).events).toEqual([
      {
        ...base,
        controlId: CONTROL_ID,
        eventId: op('gather-stopped', 'ended'),
        kind: 'gather.ended',
        reason: 'cancelled',
        digits: '',
      },
    ]);
  });
});

describe('gather actionHook', () => {
  const speech = {
    is_final: true,
    language_code: 'en-US',
    channel_tag: 1,
    alternatives: [{ transcript: 'sales please', confidence: 0.93 }],
  };

  it.each([
    ['dtmfDetected', { digits: '12' }, { reason: 'complete', digits: '12' }],
    [
      'speechDetected',
      { speech },
      { reason: 'complete', digits: '', speech: { text: 'sales please', confidence: 0.93 } },
    ],
    [
      'stt-low-confidence',
      { speech },
      { reason: 'invalid', digits: '', speech: { text: 'sales please', confidence: 0.93 } },
    ],
    ['timeout', {}, { reason: 'timeout', digits: '' }],
    ['error', { details: 'STT vendor unreachable' }, { reason: 'error', digits: '' }],
  ])('maps %s', (reason, extra, expected) => {
    expect(normalise('gather', callInfo({ reason, ...extra })).events).toEqual([
      { ...base, controlId: CONTROL_ID, eventId: op('gather', reason), kind: 'gather.ended', ...expected },
    ]);
  });

  it('keeps two gathers on one call apart by their operation', () => {
    const payload = callInfo({ reason: 'timeout' });
    const first = normalise('gather', payload, `call:jambonz:${CALL_SID}#3`).events[0];
    const second = normalise('gather', payload, `call:jambonz:${CALL_SID}#9`).events[0];
    expect(first?.eventId).not.toBe(second?.eventId);
  });

  it('falls back to verb_id when the hook URL names no operation', () => {
    const [event] = normalise('gather', callInfo({ reason: 'timeout', verb_id: 'menu-1' }), null).events;
    expect(event).toMatchObject({ controlId: 'menu-1', eventId: `jambonz:${CALL_SID}:gather:menu-1:timeout` });
  });

  it('refuses speechDetected without a transcript', () => {
    expect(() => normalise('gather', callInfo({ reason: 'speechDetected' }))).toThrow(MalformedWebhookError);
  });

  it('refuses a reason jambonz does not document', () => {
    expect(() => normalise('gather', callInfo({ reason: 'guessed' }))).toThrow('jambonz gather reason "guessed"');
  });
});

describe('play actionHook', () => {
  it('maps playCompleted', () => {
    const payload = callInfo({ reason: 'playCompleted', playback_seconds: 3, playback_milliseconds: 3120 });
    expect(normalise('play', payload).events).toEqual([
      {
        ...base,
        controlId: CONTROL_ID,
        eventId: op('play', 'playCompleted'),
        kind: 'playback.ended',
        status: 'completed',
      },
    ]);
  });

  it('maps playFailed', () => {
    expect(normalise('play', callInfo({ status: 'fail', reason: 'playFailed' })).events).toEqual([
      { ...base, controlId: CONTROL_ID, eventId: op('play', 'playFailed'), kind: 'playback.ended', status: 'failed' },
    ]);
  });
});

describe('dial actionHook', () => {
  it.each([
    ['failed', 503, 'failed'],
    ['failed', 404, 'unreachable'],
    ['busy', 486, 'busy'],
    ['no-answer', 487, 'no-answer'],
    ['ringing', 180, 'no-answer'], // ring timeout: jambonz keeps the last provisional status
  ])('ends the dialed leg (%s, SIP %s) and the dial on the calling leg', (dialStatus, sipStatus, cause) => {
    const payload = callInfo({
      dial_call_status: dialStatus,
      dial_sip_status: sipStatus,
      dial_call_sid: CHILD_SID,
      dial_sbc_callid: 'x@y',
    });
    expect(normalise('dial', payload).events).toEqual([
      {
        ...base,
        callId: CHILD_SID,
        eventId: `jambonz:${CHILD_SID}:ended`,
        kind: 'call.ended',
        cause,
        source: 'unknown',
        sipCode: sipStatus,
      },
      { ...base, controlId: CONTROL_ID, eventId: op('dial', dialStatus), kind: 'unbridged', otherCallId: CHILD_SID },
    ]);
  });

  it('reads completed with SIP 200 as an agent who answered, talked and hung up: answered and bridged, then ended', () => {
    const payload = callInfo({
      dial_call_status: 'completed',
      dial_sip_status: 200,
      dial_call_sid: CHILD_SID,
      dial_sbc_callid: 'x@y',
    });
    expect(normalise('dial', payload).events).toEqual([
      { ...base, callId: CHILD_SID, eventId: `jambonz:${CHILD_SID}:answered`, kind: 'call.answered' },
      {
        ...base,
        eventId: `jambonz:${CALL_SID}:bridged:${CHILD_SID}`,
        kind: 'bridged',
        otherCallId: CHILD_SID,
      },
      {
        ...base,
        callId: CHILD_SID,
        eventId: `jambonz:${CHILD_SID}:ended`,
        kind: 'call.ended',
        cause: 'normal',
        source: 'unknown',
        sipCode: 200,
      },
      { ...base, controlId: CONTROL_ID, eventId: op('dial', 'completed'), kind: 'unbridged', otherCallId: CHILD_SID },
    ]);
  });

  it('shares the answer, bridge and end ids with the dialed leg status hooks, so the session keeps one of each', () => {
    const fromDial = normalise(
      'dial',
      callInfo({ dial_call_status: 'completed', dial_sip_status: 200, dial_call_sid: CHILD_SID }),
    ).events.map((e) => e.eventId);
    const answered = normalise(
      'status',
      callInfo({ call_sid: CHILD_SID, call_status: 'in-progress', parent_call_sid: CALL_SID }),
    ).events.map((e) => e.eventId);
    const ended = normalise(
      'status',
      callInfo({ call_sid: CHILD_SID, call_status: 'completed', parent_call_sid: CALL_SID }),
    ).events.map((e) => e.eventId);
    expect(fromDial.slice(0, 3)).toEqual([...answered, ...ended]);
  });

  it('ends the dial when no leg was ever created', () => {
    expect(normalise('dial', callInfo()).events).toEqual([
      { ...base, controlId: CONTROL_ID, eventId: op('dial', 'no-leg'), kind: 'unbridged' },
    ]);
  });
});

describe('listen actionHook (recording)', () => {
  it('reports the recording with the seconds streamed', () => {
    expect(normalise('listen', callInfo({ dial_call_duration: 17 })).events).toEqual([
      { ...base, controlId: CONTROL_ID, eventId: op('listen', 'saved'), kind: 'recording.saved', durationMs: 17000 },
    ]);
  });

  it('reports a stream that never started as a failed recording', () => {
    expect(normalise('listen', callInfo()).events).toEqual([
      {
        ...base,
        controlId: CONTROL_ID,
        eventId: op('listen', 'failed'),
        kind: 'recording.failed',
        reason: 'the audio stream to the recording socket never started',
      },
    ]);
  });
});

describe('queue hooks', () => {
  const queueSid = `queue:${ACCOUNT_SID}:${JAMBONZ_PARKING_QUEUE}`;

  it.each(['bridged', 'leave', 'hangup', 'error'])('maps enqueue queue_result %s to queue.left', (result) => {
    expect(
      normalise('enqueue', callInfo({ queue_sid: queueSid, queue_time: 42, queue_result: result })).events,
    ).toEqual([
      {
        ...base,
        controlId: CONTROL_ID,
        eventId: op('enqueue', result),
        kind: 'queue.left',
        queue: JAMBONZ_PARKING_QUEUE,
        reason: result,
        waitSeconds: 42,
      },
    ]);
  });

  it('reports joining once, however often jambonz polls the waitHook', () => {
    const poll = (seconds: number) =>
      normalise('wait', {
        queue_sid: queueSid,
        queue_time: seconds,
        queue_size: 3,
        queue_position: 2,
        call_sid: CALL_SID,
        call_id: 'x@y',
      }).events;
    expect(poll(0)).toEqual([
      {
        ...base,
        controlId: CONTROL_ID,
        eventId: op('wait', 'joined'),
        kind: 'queue.joined',
        queue: JAMBONZ_PARKING_QUEUE,
      },
    ]);
    expect(poll(30)).toEqual(poll(0));
  });

  it.each([
    ['complete', ['bridged', 'unbridged']],
    ['timeout', ['unbridged']],
    ['hangup', ['unbridged']],
  ])('maps dequeue_result %s', (result, kinds) => {
    expect(normalise('dequeue', callInfo({ dequeue_result: result })).events.map((event) => event.kind)).toEqual(kinds);
  });

  it('refuses a queue_sid that is not queue:<account>:<name>', () => {
    expect(() => normalise('enqueue', callInfo({ queue_sid: 'sales', queue_result: 'leave' }))).toThrow(
      'queue_sid "sales"',
    );
  });
});

describe('amd actionHook', () => {
  it.each([
    ['amd_human_detected', { kind: 'machine.detection.ended', result: 'human' }],
    ['amd_machine_detected', { kind: 'machine.detection.ended', result: 'machine' }],
    ['amd_no_speech_detected', { kind: 'machine.detection.ended', result: 'silence' }],
    ['amd_decision_timeout', { kind: 'machine.detection.ended', result: 'unknown' }],
    ['amd_tone_detected', { kind: 'machine.greeting.ended', beep: true }],
    ['amd_machine_stopped_speaking', { kind: 'machine.greeting.ended', beep: false }],
  ])('maps %s', (type, expected) => {
    expect(normalise('amd', callInfo({ direction: 'outbound', type })).events).toEqual([
      { ...base, controlId: CONTROL_ID, eventId: op('amd', type), ...expected },
    ]);
  });

  it('ignores amd_stopped', () => {
    expect(normalise('amd', callInfo({ type: 'amd_stopped' })).events).toEqual([]);
  });
});

describe('malformed bodies', () => {
  it.each([
    ['not JSON', '{call_sid:'],
    ['not an object', '[]'],
    ['without call_sid', JSON.stringify({ call_status: 'completed' })],
    ['with an unknown call_status', JSON.stringify(callInfo({ call_status: 'melted' }))],
    ['with an unknown direction', JSON.stringify(callInfo({ direction: 'sideways', call_status: 'trying' }))],
  ])('throws MalformedWebhookError for a body %s', (_what, body) => {
    expect(() => normaliseJambonzWebhook(body, { hook: 'status', receivedAt })).toThrow(MalformedWebhookError);
  });
});
