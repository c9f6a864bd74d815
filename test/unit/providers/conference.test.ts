import type { CallCommand } from '../../../src/calls';
import { ErrorType } from '../../../src/calls';
import { CarrierError } from '../../../src/providers/errors';
import {
  createJambonzCommands,
  JAMBONZ_OPS,
  JambonzHook,
  mapCommandToVerbs,
  normaliseJambonzWebhook,
  operationHooks,
} from '../../../src/providers/jambonz';
import { SIGNALWIRE_NO_CONFERENCE, SIGNALWIRE_OPS, signalwireCommandRequest } from '../../../src/providers/signalwire';
import { TELNYX_NO_CONFERENCE, TELNYX_OPS, telnyxCommandRequest } from '../../../src/providers/telnyx';
import { closedRequestErrors, updateCallSchema } from './jambonz/swagger';
import { onTheWire, validateVerbDocument } from './jambonz/verb-spec';

/**
 * Conferences as a flow operation (`call.joinConference`): on jambonz a `conference` verb in the call's next
 * document, valid against the official verb specifications, whose actionHook becomes `conference.left`; Telnyx
 * and SignalWire refuse it as Unsupported, naming why.
 */

const CALL_SID = '2c3f6b1e-0d0e-4a5b-9f44-8a3e2c1b0a01';
const WORKFLOW_ID = `call:jambonz:${CALL_SID}`;
const CONTROL_ID = `${WORKFLOW_ID}#5`;
const join = (options: Partial<Extract<CallCommand, { op: 'joinConference' }>> = {}): CallCommand => ({
  op: 'joinConference',
  name: 'r1',
  ...options,
  callId: CALL_SID,
  commandKey: CONTROL_ID,
  ownerWorkflowId: WORKFLOW_ID,
});
const hooks = operationHooks({
  publicBaseUrl: 'https://gateway.example.com',
  secret: 'wh_secret',
  workflowId: WORKFLOW_ID,
  controlId: CONTROL_ID,
});

describe('jambonz conference verb', () => {
  it('is a document step', () => {
    expect(JAMBONZ_OPS.joinConference).toBe('document');
  });

  it('joins with the defaults, valid against the verb specs', () => {
    const verbs = mapCommandToVerbs(join(), hooks);
    validateVerbDocument(onTheWire(verbs));
    expect(verbs).toEqual([{ verb: 'conference', name: 'r1', actionHook: hooks.url(JambonzHook.Conference) }]);
  });

  it('maps every option to its jambonz property, valid against the verb specs', () => {
    const verbs = mapCommandToVerbs(
      join({ muted: true, startOnEnter: false, endOnExit: true, beep: true, maxParticipants: 5 }),
      hooks,
    );
    validateVerbDocument(onTheWire(verbs));
    expect(verbs[0]).toMatchObject({
      joinMuted: true,
      startConferenceOnEnter: false,
      endConferenceOnExit: true,
      beep: true,
      maxParticipants: 5,
    });
  });

  it('reports the member leaving as conference.left for its operation', () => {
    const payload = { call_sid: CALL_SID, direction: 'inbound', from: '+15557770301', to: '+15550001301' };
    const { events } = normaliseJambonzWebhook(Buffer.from(JSON.stringify(payload)), {
      hook: JambonzHook.Conference,
      controlId: CONTROL_ID,
      receivedAt: '2026-01-15T12:00:00.000Z',
    });
    expect(events).toEqual([
      expect.objectContaining({ kind: 'conference.left', callId: CALL_SID, controlId: CONTROL_ID }),
    ]);
  });
});

describe('jambonz conference hold and mute (the hold / unhold / mute / unmute controls of a member)', () => {
  const carrier = createJambonzCommands({
    accountSid: '9351f46a-678c-43f5-b8a6-d4eb58d131af',
    publicBaseUrl: 'https://gateway.example.com',
    hookSecret: 'wh_secret',
  });
  const command = (op: 'conferenceHold' | 'conferenceUnhold' | 'mute' | 'unmute'): CallCommand => ({
    op,
    callId: CALL_SID,
    commandKey: CONTROL_ID,
    ownerWorkflowId: WORKFLOW_ID,
  });

  it.each([
    ['conferenceHold', 'hold'],
    ['conferenceUnhold', 'unhold'],
  ] as const)('%s is Live Call Control conf_hold_status %s, valid against the swagger', (op, status) => {
    const request = carrier.commandRequest(command(op));
    expect(request).toMatchObject({ method: 'PUT', body: { conf_hold_status: status } });
    expect(closedRequestErrors(updateCallSchema, onTheWire(request.body) as object, [])).toBe('');
  });

  // conf_mute_status would mute every member but the moderators: one member is muted with mute_status.
  it.each(['mute', 'unmute'] as const)('%s of a member is mute_status on its own call, not conf_mute_status', (op) => {
    const request = carrier.commandRequest(command(op));
    expect(request.body).toEqual({ mute_status: op });
    expect(closedRequestErrors(updateCallSchema, onTheWire(request.body) as object, [])).toBe('');
  });
});

describe('carriers without a conference command here', () => {
  const refusal = (build: () => unknown): CarrierError => {
    try {
      build();
    } catch (err) {
      return err as CarrierError;
    }
    throw new Error('expected a refusal');
  };

  it('Telnyx refuses joinConference as Unsupported, naming why', () => {
    expect(TELNYX_OPS.joinConference).toBe('unsupported');
    for (const cmd of [join(), { ...join(), op: 'conferenceHold' } as CallCommand]) {
      const err = refusal(() => telnyxCommandRequest(cmd, { connectionId: 'c', voice: 'v' }));
      expect(err.type).toBe(ErrorType.Unsupported);
      expect(err.message).toContain(TELNYX_NO_CONFERENCE);
    }
  });

  it('SignalWire joins by document (SWML join_conference) and refuses member hold, naming why', () => {
    expect(SIGNALWIRE_OPS.joinConference).toBe('document');
    const callbacks = { publicBaseUrl: 'https://gw.example.com', secret: 's'.repeat(43) };
    for (const op of ['conferenceHold', 'conferenceUnhold'] as const) {
      const err = refusal(() => signalwireCommandRequest({ ...join(), op } as CallCommand, { callbacks }));
      expect(err.type).toBe(ErrorType.Unsupported);
      expect(err.message).toContain(SIGNALWIRE_NO_CONFERENCE);
    }
  });
});
