import type { CallCommandBody, PlaceCallRequest } from '../../../../src/calls/commands';
import { ErrorType } from '../../../../src/calls/errors';
import { CarrierError } from '../../../../src/providers/errors';
import {
  cancelUnansweredCall,
  classifyCreateCallResponse,
  classifyJambonzResponse,
  createCallBody,
  createCallRequest,
  hangupCall,
  holdConferenceMember,
  InvalidUpdateCallError,
  jambonzAuthHeaders,
  JambonzHook,
  liveControlForCommand,
  muteCall,
  muteConference,
  operationHooks,
  readCreatedCall,
  redirectCall,
  redirectChildCall,
  sayVerb,
  playVerb,
  setListenStatus,
  tagCall,
  updateCallRequest,
  validateUpdateCall,
  whisper,
  type JambonzCallApplication,
  type UpdateCallBody,
} from '../../../../src/providers/jambonz';
import {
  closedRequestErrors,
  createCallSchema,
  STALE_IN_CREATE_CALL_SWAGGER,
  staleSwaggerProperties,
  updateCallSchema,
} from './swagger';
import { onTheWire, validateEntry, validateVerbDocument } from './verb-spec';

const ACCOUNT_SID = '9351f46a-678c-43f5-b8a6-d4eb58d131af';
const CALL_SID = '2c3f6b1e-0d0e-4a5b-9f44-8a3e2c1b0a01';
const hooks = operationHooks({
  publicBaseUrl: 'https://gateway.example.com',
  secret: 'hook-secret',
  workflowId: `call:jambonz:${CALL_SID}`,
  controlId: `call:jambonz:${CALL_SID}#5`,
});

/**
 * Properties the servers accept but the 2024 swagger leaves out or gets wrong (research/jambonz.md §0, §1.1):
 * - `whisper`: the swagger says Webhook `{url}`; the servers take a say/play verb or an array of them, and a
 *   URL whisper was disabled in 2025-07. Checked against the verb specifications instead.
 * - `call_status_hook`: accepted together with `call_hook` (feature server), absent from the swagger.
 * - `wait_hook`: read with `conf_hold_status`, absent from the swagger.
 * - `tag`: a counted action of the api-server, absent from the swagger.
 * - `dtmf`: `{digit, duration?}`, a counted action of the api-server, absent from the swagger.
 */
const STALE_IN_UPDATE_CALL_SWAGGER = ['whisper', 'call_status_hook', 'wait_hook', 'tag', 'dtmf'];

function expectValidUpdateCall(body: UpdateCallBody): void {
  expect(() => validateUpdateCall(body)).not.toThrow();
  const wire = onTheWire(body) as Record<string, unknown>;
  expect(closedRequestErrors(updateCallSchema, wire, STALE_IN_UPDATE_CALL_SWAGGER)).toBe('');
  // Each exception used must still be one: if the swagger learns the property, drop it from the list.
  const excepted = Object.keys(wire).filter((key) => STALE_IN_UPDATE_CALL_SWAGGER.includes(key));
  expect(staleSwaggerProperties(updateCallSchema, wire)).toEqual(expect.arrayContaining(excepted));
  if (wire.whisper !== undefined) validateVerbDocument(Array.isArray(wire.whisper) ? wire.whisper : [wire.whisper]);
}

const sayWhisper = sayVerb({ text: 'Your next caller is waiting' });
const playWhisper = playVerb({ url: 'https://cdn.example.com/beep.mp3' });

describe('the swagger check', () => {
  it('catches a property the swagger does not document', () => {
    expect(closedRequestErrors(updateCallSchema, { call_status: 'completed', dtmf: { digit: '1' } }, [])).toContain(
      'must NOT have additional properties',
    );
  });

  it('catches a value the swagger schema rejects', () => {
    expect(closedRequestErrors(updateCallSchema, { call_status: 'hangup' }, [])).toContain(
      'must be equal to one of the allowed values',
    );
  });

  it('knows a whisper verb is not the Webhook the swagger describes', () => {
    expect(staleSwaggerProperties(updateCallSchema, { whisper: { verb: 'play', url: 'https://a/b.mp3' } })).toEqual([
      'whisper',
    ]);
  });
});

describe('Live Call Control bodies', () => {
  it.each<[string, UpdateCallBody]>([
    ['redirect', redirectCall('https://gateway.example.com/webhooks/jambonz?hook=next')],
    ['redirect of both legs', redirectCall('https://g.example.com/a', { childCallHook: 'https://g.example.com/b' })],
    [
      'redirect with a new status hook',
      redirectCall('https://g.example.com/a', { callStatusHook: 'https://g.example.com/s' }),
    ],
    ['redirect of the dialed leg', redirectChildCall('https://g.example.com/b')],
    ['hangup', hangupCall()],
    ['no-answer', cancelUnansweredCall()],
    ['mute', muteCall('mute')],
    ['unmute', muteCall('unmute')],
    ['listen pause', setListenStatus('pause')],
    ['listen silence', setListenStatus('silence')],
    ['listen resume', setListenStatus('resume')],
    ['conference hold with music', holdConferenceMember('hold', 'https://g.example.com/hold-music')],
    ['conference unhold', holdConferenceMember('unhold')],
    ['conference mute', muteConference('mute')],
    ['whisper alone', whisper(sayWhisper)],
    ['whisper of several prompts', whisper([sayWhisper, playWhisper])],
    ['whisper with mute', { ...muteCall('mute'), ...whisper(sayWhisper) }],
    ['whisper with listen', { ...setListenStatus('pause'), ...whisper(playWhisper) }],
    ['tag', tagCall({ ownerWorkflowId: 'call:jambonz:x' })],
  ])('%s follows the rules and the swagger (with its documented exceptions)', (_name, body) => {
    expectValidUpdateCall(body);
  });

  it('builds a PUT on the call resource', () => {
    expect(updateCallRequest(ACCOUNT_SID, CALL_SID, hangupCall())).toEqual({
      method: 'PUT',
      path: `/Accounts/${ACCOUNT_SID}/Calls/${CALL_SID}`,
      body: { call_status: 'completed' },
      operation: 'updateCall call_status',
    });
    expect(updateCallRequest(ACCOUNT_SID, CALL_SID, whisper(sayWhisper)).operation).toBe('updateCall whisper');
  });
});

describe('Live Call Control combination rules', () => {
  it.each<[string, Record<string, unknown>, string]>([
    [
      'two actions',
      { call_status: 'completed', mute_status: 'mute' },
      'jambonz updateCall: one action per request, got call_status, mute_status; only call_hook may pair with child_call_hook (jambonz answers 400 "multiple options are not allowed in updateCall")',
    ],
    [
      'listen and mute together',
      { listen_status: 'pause', mute_status: 'mute' },
      'one action per request, got listen_status, mute_status',
    ],
    [
      'no action',
      {},
      'jambonz updateCall: no action: send exactly one of call_hook, child_call_hook, call_status, listen_status, mute_status, conf_mute_status, conf_hold_status, tag, dtmf, or a whisper (jambonz answers 400 "no valid options supplied to updateCall")',
    ],
    [
      'a status hook without a call hook',
      { call_status_hook: { url: 'https://g.example.com/s' }, mute_status: 'mute' },
      'jambonz updateCall: call_status_hook is accepted only together with call_hook (jambonz answers 400)',
    ],
    [
      'a wait hook without conference hold',
      { mute_status: 'mute', wait_hook: 'https://g.example.com/w' },
      'jambonz updateCall: wait_hook only qualifies conf_hold_status',
    ],
    [
      'a whisper next to a hangup',
      { call_status: 'completed', whisper: { verb: 'say', text: 'bye' } },
      'jambonz updateCall: whisper goes alone or with listen_status, mute_status; next to call_status jambonz would not play it',
    ],
    [
      'a whisper next to a redirect',
      { call_hook: { url: 'https://g.example.com/a' }, whisper: { verb: 'say', text: 'hi' } },
      'next to call_hook jambonz would not play it',
    ],
    ['a whisper URL', { whisper: { url: 'https://g.example.com/w' } }, 'whisper must be one or more say or play verbs'],
    ['an empty whisper', { whisper: [] }, 'whisper must be one or more say or play verbs'],
    [
      'a bad call_status',
      { call_status: 'hangup' },
      'jambonz updateCall: call_status must be one of completed, no-answer, not "hangup"',
    ],
    [
      'a bad listen_status',
      { listen_status: 'stop' },
      'listen_status must be one of pause, silence, resume, not "stop"',
    ],
    ['a bad mute_status', { mute_status: 'on' }, 'mute_status must be one of mute, unmute, not "on"'],
    [
      'a bad conf_hold_status',
      { conf_hold_status: 'park' },
      'conf_hold_status must be one of hold, unhold, not "park"',
    ],
    ['a bad conf_mute_status', { conf_mute_status: true }, 'conf_mute_status must be one of mute, unmute, not true'],
    ['an unknown property', { call_status: 'completed', hangup: true }, 'jambonz updateCall: unknown property hangup'],
    ['a relative hook', { call_hook: { url: '/next' } }, 'call_hook.url must be an absolute URL, not "/next"'],
  ])('refuses %s, explaining the rule', (_what, body, message) => {
    let thrown: unknown;
    try {
      updateCallRequest(ACCOUNT_SID, CALL_SID, body as UpdateCallBody);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(InvalidUpdateCallError);
    expect(thrown).toBeInstanceOf(CarrierError);
    expect(thrown).toMatchObject({
      type: ErrorType.InvalidCommand,
      retryable: false,
      details: { provider: 'jambonz' },
    });
    expect((thrown as Error).message).toContain(message);
  });

  it('lets call_hook pair with child_call_hook, the one allowed pair', () => {
    expect(() =>
      validateUpdateCall({
        call_hook: { url: 'https://g.example.com/a' },
        child_call_hook: { url: 'https://g.example.com/b' },
      }),
    ).not.toThrow();
  });
});

describe('liveControlForCommand', () => {
  it.each<[CallCommandBody, UpdateCallBody]>([
    [{ op: 'hangup' }, { call_status: 'completed' }],
    [{ op: 'reject', reason: 'busy' }, { call_status: 'no-answer' }],
    [{ op: 'stopPlayback' }, { call_hook: { url: hooks.url(JambonzHook.PlaybackStopped) } }],
    [{ op: 'stopGather' }, { call_hook: { url: hooks.url(JambonzHook.GatherStopped) } }],
    [{ op: 'recordStop' }, { call_hook: { url: hooks.url(JambonzHook.Next) } }],
    [{ op: 'recordPause' }, { listen_status: 'pause' }],
    [{ op: 'recordResume' }, { listen_status: 'resume' }],
    [{ op: 'clientStateUpdate' }, { tag: { ownerWorkflowId: `call:jambonz:${CALL_SID}` } }],
    // Live controls from REST (JAMBONZ_CONTROLS): flows send say, play and sendDtmf as verbs.
    [{ op: 'say', text: 'hi' }, { whisper: { verb: 'say', text: 'hi' } }],
    [
      { op: 'say', text: 'hi', voice: 'en-US-Wavenet-C', language: 'en-US' },
      {
        whisper: {
          verb: 'say',
          text: 'hi',
          synthesizer: { vendor: 'default', voice: 'en-US-Wavenet-C', language: 'en-US' },
        },
      },
    ],
    [
      { op: 'play', url: 'https://cdn.example.com/a.mp3' },
      { whisper: { verb: 'play', url: 'https://cdn.example.com/a.mp3' } },
    ],
    [{ op: 'sendDtmf', digits: '12#' }, { dtmf: { digit: '12#' } }],
    [{ op: 'mute' }, { mute_status: 'mute' }],
    [{ op: 'unmute' }, { mute_status: 'unmute' }],
  ])('sends %j as %j', (command, body) => {
    const built = liveControlForCommand(command, hooks);
    expect(built).toEqual(body);
    expectValidUpdateCall(built as UpdateCallBody);
  });

  it.each<CallCommandBody>([{ op: 'answer' }, { op: 'gather' }, { op: 'enqueue', queue: 'q' }])(
    'leaves %j to the next document',
    (command) => {
      expect(liveControlForCommand(command, hooks)).toBeUndefined();
    },
  );
});

describe('response classification', () => {
  const operation = 'updateCall call_status';

  it.each([200, 202])('treats %s as success', (status) => {
    expect(classifyJambonzResponse({ operation, status })).toBeUndefined();
  });

  it.each([
    [404, undefined],
    [422, { msg: `call session is gone for call_sid ${CALL_SID}` }],
  ])('treats %s as a call that is gone', (status, body) => {
    expect(classifyJambonzResponse({ operation, status, body })).toMatchObject({
      type: ErrorType.CallGone,
      retryable: false,
    });
  });

  it('turns 400 into a clear, non-retryable refusal with jambonz msg', () => {
    const error = classifyJambonzResponse({
      operation,
      status: 400,
      body: { msg: 'multiple options are not allowed in updateCall' },
    });
    expect(error).toMatchObject({ type: ErrorType.CarrierRejected, retryable: false, details: { status: 400 } });
    expect(error?.message).toBe(
      'jambonz refused updateCall call_status as invalid (HTTP 400: multiple options are not allowed in updateCall)',
    );
  });

  it.each([480, 500, 503])('retries %s', (status) => {
    expect(classifyJambonzResponse({ operation, status })).toMatchObject({
      type: ErrorType.CarrierUnavailable,
      retryable: true,
    });
  });

  it('does not retry a bad token', () => {
    expect(classifyJambonzResponse({ operation, status: 401 })).toMatchObject({
      type: ErrorType.CarrierRejected,
      retryable: false,
    });
  });
});

describe('outbound calls', () => {
  const request: PlaceCallRequest = {
    from: '+15557654321',
    to: '+15551234567',
    commandKey: 'call:jambonz:out:req-1#0',
    ownerWorkflowId: 'call:jambonz:out:req-1',
  };
  const ourHooks: JambonzCallApplication = {
    call_hook: 'https://gateway.example.com/webhooks/jambonz?hook=call&wf=call%3Ajambonz%3Aout%3Areq-1&token=t',
    call_status_hook:
      'https://gateway.example.com/webhooks/jambonz?hook=status&wf=call%3Ajambonz%3Aout%3Areq-1&token=t',
    speech_synthesis_vendor: 'google',
    speech_synthesis_language: 'en-US',
    speech_synthesis_voice: 'en-US-Wavenet-C',
    speech_recognizer_vendor: 'google',
    speech_recognizer_language: 'en-US',
  };

  it('places a call run by our hooks, tagged with the owning session', () => {
    const body = createCallBody({ ...request, timeoutSeconds: 20 }, ourHooks);
    expect(body).toEqual({
      from: '+15557654321',
      to: { type: 'phone', number: '+15551234567' },
      call_hook: { url: ourHooks.call_hook },
      call_status_hook: { url: ourHooks.call_status_hook },
      speech_synthesis_vendor: 'google',
      speech_synthesis_language: 'en-US',
      speech_synthesis_voice: 'en-US-Wavenet-C',
      speech_recognizer_vendor: 'google',
      speech_recognizer_language: 'en-US',
      timeout: 20,
      tag: { ownerWorkflowId: 'call:jambonz:out:req-1' },
    });
    const wire = onTheWire(body) as Record<string, unknown>;
    expect(closedRequestErrors(createCallSchema, wire, STALE_IN_CREATE_CALL_SWAGGER)).toBe('');
    expect(staleSwaggerProperties(createCallSchema, wire)).toEqual(
      STALE_IN_CREATE_CALL_SWAGGER.filter((key) => key in wire),
    );
    // The feature server checks the same body as its internal `rest:dial` verb.
    expect(() => validateEntry('rest:dial', wire)).not.toThrow();
  });

  it('places a call run by a stored application, with answering-machine detection', () => {
    const amdHook = 'https://gateway.example.com/webhooks/jambonz?hook=amd';
    const body = createCallBody(
      { ...request, to: 'sip:bob@pbx.example.com', detectMachine: true },
      { application_sid: '0dddaabf-0a85-4a4c-b3c4-0c0e8b9c1e2d' },
      amdHook,
    );
    expect(body).toEqual({
      from: '+15557654321',
      to: { type: 'sip', sipUri: 'sip:bob@pbx.example.com' },
      application_sid: '0dddaabf-0a85-4a4c-b3c4-0c0e8b9c1e2d',
      timeout: 30,
      tag: { ownerWorkflowId: 'call:jambonz:out:req-1' },
      amd: { actionHook: amdHook },
    });
    const wire = onTheWire(body) as Record<string, unknown>;
    expect(closedRequestErrors(createCallSchema, wire, STALE_IN_CREATE_CALL_SWAGGER)).toBe('');
    expect(() => validateEntry('amd', wire.amd)).not.toThrow();
  });

  it('refuses machine detection without a hook to report it to', () => {
    expect(() => createCallBody({ ...request, detectMachine: true }, ourHooks)).toThrow('none was given');
  });

  it('posts to the account Calls resource', () => {
    const body = createCallBody(request, ourHooks);
    expect(createCallRequest(ACCOUNT_SID, body)).toEqual({
      method: 'POST',
      path: `/Accounts/${ACCOUNT_SID}/Calls`,
      body,
      operation: 'createCall',
    });
  });

  it('reads the 201 body', () => {
    expect(readCreatedCall({ sid: CALL_SID, callId: 'a1b2@10.0.0.5' })).toEqual({
      callId: CALL_SID,
      sipCallId: 'a1b2@10.0.0.5',
    });
    expect(readCreatedCall({ sid: CALL_SID })).toEqual({ callId: CALL_SID });
    expect(() => readCreatedCall({})).toThrow('the call may exist');
  });

  it.each([
    [201, undefined],
    [429, { type: ErrorType.CarrierUnavailable, retryable: true }],
    [480, { type: ErrorType.CarrierUnavailable, retryable: true }],
    [400, { type: ErrorType.CarrierRejected, retryable: false }],
    [404, { type: ErrorType.CarrierRejected, retryable: false }],
    [408, { type: ErrorType.CarrierUnavailable, retryable: false }],
    [500, { type: ErrorType.CarrierUnavailable, retryable: false }],
    [503, { type: ErrorType.CarrierUnavailable, retryable: false }],
  ])('classifies createCall %s so a call is never placed twice', (status, expected) => {
    const error = classifyCreateCallResponse({ operation: 'createCall', status });
    if (expected === undefined) expect(error).toBeUndefined();
    else expect(error).toMatchObject(expected);
  });

  it('authenticates with the API key as a bearer token', () => {
    expect(jambonzAuthHeaders('0f1e2d3c')).toEqual({ authorization: 'Bearer 0f1e2d3c' });
  });
});
