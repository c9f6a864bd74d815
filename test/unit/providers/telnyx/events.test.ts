import { readFileSync } from 'node:fs';
import path from 'node:path';
import { encodeClientState, normaliseTelnyxWebhook } from '../../../../src/providers/telnyx';
import { MalformedWebhookError } from '../../../../src/providers/types';

/** The example payloads of the official spec, one per webhook schema. */
const spec = JSON.parse(
  readFileSync(path.resolve(__dirname, '../../../../../shared/specs/telnyx-call-control.openapi.json'), 'utf8'),
);
function specExample(eventType: string): { data: Record<string, any> } {
  for (const [, schema] of Object.entries<any>(spec.components.schemas)) {
    const example = schema?.example;
    if (example?.event_type === eventType && example.payload) return { data: structuredClone(example) };
  }
  throw new Error(`no example for ${eventType} in the spec`);
}
const normalise = (body: unknown) => normaliseTelnyxWebhook(Buffer.from(JSON.stringify(body)));

describe('Telnyx webhook normalisation (spec examples)', () => {
  it.each([
    ['call.initiated', 'call.incoming'],
    ['call.answered', 'call.answered'],
    ['call.hangup', 'call.ended'],
    ['call.dtmf.received', 'dtmf'],
    ['call.gather.ended', 'gather.ended'],
    ['call.playback.started', 'playback.started'],
    ['call.playback.ended', 'playback.ended'],
    ['call.speak.started', 'speak.started'],
    ['call.speak.ended', 'speak.ended'],
    ['call.recording.saved', 'recording.saved'],
    ['call.bridged', 'bridged'],
    ['call.enqueued', 'queue.joined'],
    ['call.dequeued', 'queue.left'],
    ['call.machine.detection.ended', 'machine.detection.ended'],
    ['call.machine.greeting.ended', 'machine.greeting.ended'],
    ['call.fork.started', 'fork.started'],
    ['call.fork.stopped', 'fork.stopped'],
    ['streaming.started', 'stream.started'],
    ['streaming.stopped', 'stream.stopped'],
  ])('%s becomes %s with the event id and time', (eventType, kind) => {
    const body = specExample(eventType);
    const { events } = normalise(body);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      provider: 'telnyx',
      kind,
      eventId: body.data.id,
      occurredAt: body.data.occurred_at,
    });
  });

  it('maps hangup causes and sources to the normalised model', () => {
    const body = specExample('call.hangup');
    Object.assign(body.data.payload, { hangup_cause: 'user_busy', hangup_source: 'callee', sip_hangup_cause: '486' });
    expect(normalise(body).events[0]).toMatchObject({
      kind: 'call.ended',
      cause: 'busy',
      source: 'callee',
      sipCode: 486,
    });
    Object.assign(body.data.payload, {
      hangup_cause: 'originator_cancel',
      hangup_source: 'caller',
      sip_hangup_cause: 'unspecified',
    });
    expect(normalise(body).events[0]).toMatchObject({ cause: 'cancelled', source: 'caller' });
    expect(normalise(body).events[0]).not.toHaveProperty('sipCode');
  });

  it('reads gather digits and status', () => {
    const body = specExample('call.gather.ended');
    Object.assign(body.data.payload, { digits: '12', status: 'valid' });
    expect(normalise(body).events[0]).toMatchObject({ kind: 'gather.ended', digits: '12', reason: 'complete' });
    Object.assign(body.data.payload, { digits: '', status: 'timeout' });
    expect(normalise(body).events[0]).toMatchObject({ digits: '', reason: 'timeout' });
  });

  it('names a recording by call_leg_id, with its url and duration', () => {
    const body = specExample('call.recording.saved');
    const event = normalise(body).events[0];
    expect(event).toMatchObject({ kind: 'recording.saved', callId: '', legId: body.data.payload.call_leg_id });
    expect(event.kind === 'recording.saved' && event.url).toMatch(/^https?:/);
  });

  it('routes by our client_state and carries the command key; ignores a foreign client_state', () => {
    const body = specExample('call.speak.ended');
    body.data.payload.client_state = encodeClientState({ wf: 'call:telnyx:v3:owner', k: 'call:telnyx:v3:owner#4' });
    expect(normalise(body)).toMatchObject({
      ownerWorkflowId: 'call:telnyx:v3:owner',
      events: [{ controlId: 'call:telnyx:v3:owner#4' }],
    });
    body.data.payload.client_state = Buffer.from('somebody else').toString('base64');
    expect(normalise(body).ownerWorkflowId).toBeUndefined();
  });

  it('tells an outgoing leg from an incoming call', () => {
    const body = specExample('call.initiated');
    body.data.payload.direction = 'outgoing';
    expect(normalise(body).events[0]).toMatchObject({ kind: 'call.outgoing' });
  });

  it('yields no events for event types the model does not use', () => {
    const body = specExample('call.hangup');
    body.data.event_type = 'call.cost';
    expect(normalise(body).events).toEqual([]);
  });

  it.each([
    ['not JSON', 'nope'],
    ['no data', JSON.stringify({})],
    ['no event id', JSON.stringify({ data: { event_type: 'call.answered', occurred_at: 'x', payload: {} } })],
    ['no payload', JSON.stringify({ data: { event_type: 'call.answered', id: 'a', occurred_at: 'x' } })],
    ['no call id', JSON.stringify({ data: { event_type: 'call.answered', id: 'a', occurred_at: 'x', payload: {} } })],
  ])('refuses a malformed body (%s)', (_name, raw) => {
    expect(() => normaliseTelnyxWebhook(Buffer.from(raw))).toThrow(MalformedWebhookError);
  });
});
