import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createActivities } from '../../../../activities';
import type { CallCommand, CallCommandBody } from '../../../../src/calls/commands';
import { ErrorType } from '../../../../src/calls/errors';
import { CarrierError } from '../../../../src/providers/errors';
import {
  callsBack,
  createJambonzCommands,
  documentForCommands,
  hangupDocument,
  holdDocumentFor,
  InvalidUpdateCallError,
  JAMBONZ_OPS,
  JambonzHook,
  liveControlForCommand,
  operationHooks,
  recordingStreamUrl,
  updateCallRequest,
  verifyHookToken,
  type JambonzVerb,
  type UpdateCallBody,
} from '../../../../src/providers/jambonz';
import { closedRequestErrors, createCallSchema, STALE_IN_CREATE_CALL_SWAGGER, updateCallSchema } from './swagger';
import { onTheWire, validateVerbDocument } from './verb-spec';

const ACCOUNT_SID = '9351f46a-678c-43f5-b8a6-d4eb58d131af';
const CALL_SID = '2c3f6b1e-0d0e-4a5b-9f44-8a3e2c1b0a01';
const APPLICATION_SID = '0b3b8a4e-58e5-4c1d-9a2f-6f1d2c3b4a59';
const WORKFLOW_ID = `call:jambonz:${CALL_SID}`;
const BASE = 'https://gateway.example.com';
const SECRET = 'wh_secret_new';
const carrier = createJambonzCommands({ accountSid: ACCOUNT_SID, publicBaseUrl: BASE, hookSecret: SECRET });

let sequence = 0;
function command(body: CallCommandBody): CallCommand {
  sequence++;
  return {
    ...body,
    callId: CALL_SID,
    commandKey: `${WORKFLOW_ID}#${sequence}`,
    ownerWorkflowId: WORKFLOW_ID,
  } as CallCommand;
}

/** Properties the 2024 swagger leaves out but the api-server counts (research/jambonz.md §1.1). */
const STALE_IN_UPDATE_CALL_SWAGGER = ['tag', 'call_status_hook'];

const ALL_OPS: CallCommandBody[] = [
  { op: 'answer' },
  { op: 'hangup' },
  { op: 'reject', reason: 'busy' },
  { op: 'play', url: 'https://example.com/a.mp3' },
  { op: 'say', text: 'Hello' },
  { op: 'stopPlayback' },
  { op: 'gather', prompt: { say: 'Press 1' }, maxDigits: 1 },
  { op: 'stopGather' },
  { op: 'recordStart', beep: true, maxSeconds: 60 },
  { op: 'recordStop' },
  { op: 'recordPause' },
  { op: 'recordResume' },
  { op: 'bridge', otherCallId: 'b0c6c7e4-1a43-4a3a-b4f4-7f1a7a5c9e10' },
  { op: 'transfer', to: '+15550002000' },
  { op: 'sendDtmf', digits: '12#' },
  { op: 'enqueue', queue: 'sales' },
  { op: 'leaveQueue' },
  { op: 'forkStart', rx: 'wss://media.example.com/fork' },
  { op: 'forkStop' },
  { op: 'clientStateUpdate' },
  { op: 'sendFax', documentUrl: 'https://example.com/fax.pdf' },
  { op: 'receiveFax' },
  { op: 'connect', to: '+15550002000' },
  { op: 'redirect' },
  { op: 'mute' },
  { op: 'unmute' },
];

describe('jambonz carrier commands (Live Call Control, createCall, reads)', () => {
  it('splits every operation into exactly one of: document verbs, Live Call Control, unsupported', () => {
    const hooks = operationHooks({
      publicBaseUrl: BASE,
      secret: SECRET,
      workflowId: WORKFLOW_ID,
      controlId: `${WORKFLOW_ID}#1`,
    });
    for (const body of ALL_OPS) {
      const isDocument = JAMBONZ_OPS[body.op] === 'document';
      const isLive = liveControlForCommand(body, hooks) !== undefined;
      const isFax = body.op === 'sendFax' || body.op === 'receiveFax';
      // These can go either way; the session sends them as verbs (say, play and sendDtmf are live controls too).
      if (!['hangup', 'reject', 'clientStateUpdate', 'say', 'play', 'sendDtmf'].includes(body.op))
        expect([isDocument, isLive, isFax].filter(Boolean)).toHaveLength(1);
      else expect(isDocument).toBe(true);
    }
  });

  it('sends the Live Call Control operations as one PUT each, valid against the rules and the swagger', () => {
    for (const body of ALL_OPS.filter(
      (b) => JAMBONZ_OPS[b.op] !== 'document' && b.op !== 'sendFax' && b.op !== 'receiveFax',
    )) {
      const request = carrier.commandRequest(command(body));
      expect(request.method).toBe('PUT');
      expect(request.path).toBe(`/Accounts/${ACCOUNT_SID}/Calls/${CALL_SID}`);
      const wire = onTheWire(request.body) as Record<string, unknown>;
      expect(closedRequestErrors(updateCallSchema, wire, STALE_IN_UPDATE_CALL_SWAGGER)).toBe('');
    }
  });

  it('points redirects at a gateway hook that names the session and the operation, with a token', () => {
    const redirect = command({ op: 'redirect' });
    const body = carrier.commandRequest(redirect).body as UpdateCallBody;
    const url = body.call_hook?.url ?? '';
    expect(url.startsWith(`${BASE}/webhooks/jambonz?`)).toBe(true);
    expect(verifyHookToken(url, [SECRET])).toEqual({
      ok: true,
      hook: JambonzHook.Next,
      workflowId: WORKFLOW_ID,
      controlId: redirect.commandKey,
    });
    expect(verifyHookToken(url, ['another-secret']).ok).toBe(false);
  });

  it('refuses fax at once with Unsupported naming jambonz', () => {
    for (const op of ['sendFax', 'receiveFax'] as const) {
      const body: CallCommandBody = op === 'sendFax' ? { op, documentUrl: 'https://example.com/fax.pdf' } : { op };
      let error: unknown;
      try {
        carrier.commandRequest(command(body));
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(CarrierError);
      expect((error as CarrierError).type).toBe(ErrorType.Unsupported);
      expect((error as CarrierError).retryable).toBe(false);
      expect((error as CarrierError).message).toMatch(/^jambonz does not support (sendFax|receiveFax)/);
    }
  });

  it('fails the fax activities at once: a non-retryable Unsupported failure, before any request', async () => {
    const sent: unknown[] = [];
    const http = { send: (request: unknown) => Promise.resolve(sent.push(request)), close: () => Promise.resolve() };
    const activities = createActivities({ carriers: { jambonz: { adapter: carrier, http } } });
    for (const body of [{ op: 'sendFax', documentUrl: 'https://example.com/fax.pdf' }, { op: 'receiveFax' }] as const) {
      const failure = await new MockActivityEnvironment()
        .run(activities.sendCallCommand, { ...command(body), provider: 'jambonz' as const })
        .then(
          () => undefined,
          (err: unknown) => err,
        );
      expect(failure).toBeInstanceOf(ApplicationFailure);
      expect(failure).toMatchObject({
        type: ErrorType.Unsupported,
        nonRetryable: true,
        message: expect.stringMatching(/^jambonz does not support/),
      });
    }
    expect(sent).toEqual([]);
  });

  it('refuses a document operation asked for as a REST command, explaining why', () => {
    expect(() => carrier.commandRequest(command({ op: 'gather', maxDigits: 1 }))).toThrow(
      /jambonz takes gather only as a document step, not as a REST command/,
    );
  });

  it('refuses Live Call Control bodies that break the combination rules before sending, with the reason', () => {
    const broken: Array<[UpdateCallBody, RegExp]> = [
      [{ call_status: 'completed', mute_status: 'mute' }, /one action per request, got call_status, mute_status/],
      [{ listen_status: 'pause', call_hook: { url: `${BASE}/x` } }, /one action per request/],
      [
        { tag: { a: 1 }, call_status_hook: { url: `${BASE}/s` } },
        /call_status_hook is accepted only together with call_hook/,
      ],
      [{ call_status: 'completed', whisper: { verb: 'say', text: 'hi' } }, /one action per request|whisper goes alone/],
      [
        { call_hook: { url: `${BASE}/x` }, whisper: { verb: 'say', text: 'hi' } },
        /whisper goes alone or with listen_status, mute_status/,
      ],
      [{}, /no action/],
      [{ call_status: 'ringing' as 'completed' }, /call_status must be one of completed, no-answer/],
    ];
    for (const [body, reason] of broken) {
      expect(() => updateCallRequest(ACCOUNT_SID, CALL_SID, body)).toThrow(InvalidUpdateCallError);
      expect(() => updateCallRequest(ACCOUNT_SID, CALL_SID, body)).toThrow(reason);
    }
    // The allowed pair and a whisper riding with mute pass.
    expect(() =>
      updateCallRequest(ACCOUNT_SID, CALL_SID, {
        call_hook: { url: `${BASE}/a` },
        child_call_hook: { url: `${BASE}/b` },
      }),
    ).not.toThrow();
    expect(() =>
      updateCallRequest(ACCOUNT_SID, CALL_SID, { mute_status: 'mute', whisper: { verb: 'say', text: 'hi' } }),
    ).not.toThrow();
  });

  it('places calls with createCall: our own hooks (with tokens) or the stored application, owner tagged', () => {
    const request = {
      to: '+15550003000',
      from: '+15550001000',
      commandKey: 'call:jambonz:out:r1#1',
      ownerWorkflowId: 'call:jambonz:out:r1',
    };
    const own = carrier.placeCallRequest(request);
    expect(own).toMatchObject({ method: 'POST', path: `/Accounts/${ACCOUNT_SID}/Calls`, operation: 'createCall' });
    const body = onTheWire(own.body) as Record<string, { url?: string } | unknown>;
    expect(closedRequestErrors(createCallSchema, body as object, STALE_IN_CREATE_CALL_SWAGGER)).toBe('');
    expect(body.tag).toEqual({ ownerWorkflowId: 'call:jambonz:out:r1' });
    const callHook = (body.call_hook as { url: string }).url;
    expect(verifyHookToken(callHook, [SECRET])).toMatchObject({
      ok: true,
      hook: 'call',
      workflowId: 'call:jambonz:out:r1',
    });
    // jambonz retries a status hook only when its URL asks (the gateway answers 503 while Temporal is down).
    const statusHook = (body.call_status_hook as { url: string }).url;
    expect(statusHook.endsWith('#rc=5&rp=all')).toBe(true);
    expect(verifyHookToken(statusHook.split('#')[0], [SECRET])).toMatchObject({ ok: true, hook: 'status' });

    const withApp = createJambonzCommands({
      accountSid: ACCOUNT_SID,
      publicBaseUrl: BASE,
      hookSecret: SECRET,
      applicationSid: APPLICATION_SID,
    });
    const appBody = onTheWire(withApp.placeCallRequest({ ...request, detectMachine: true }).body) as Record<
      string,
      unknown
    >;
    expect(appBody).toMatchObject({
      application_sid: APPLICATION_SID,
      tag: { ownerWorkflowId: 'call:jambonz:out:r1' },
    });
    expect(appBody.call_hook).toBeUndefined();
    expect(verifyHookToken((appBody.amd as { actionHook: string }).actionHook, [SECRET])).toMatchObject({
      ok: true,
      hook: 'amd',
    });
    expect(closedRequestErrors(createCallSchema, appBody, STALE_IN_CREATE_CALL_SWAGGER)).toBe('');

    expect(carrier.placedCall({ sid: 'c-1', callId: 'sip-1' })).toEqual({ callId: 'c-1' });
    expect(carrier.dialIsIdempotent).toBe(false);
  });

  it('never retries a createCall that may have reached jambonz; retries Live Call Control on 5xx; 404/422 mean gone', () => {
    const classify = carrier.classify!;
    expect(classify({ operation: 'createCall', status: 500, headers: {}, body: {} })?.retryable).toBe(false);
    expect(classify({ operation: 'createCall', status: 480, headers: {}, body: {} })?.retryable).toBe(true);
    expect(classify({ operation: 'createCall', status: 201, headers: {}, body: { sid: 'x' } })).toBeUndefined();
    expect(classify({ operation: 'updateCall call_hook', status: 503, headers: {}, body: {} })?.retryable).toBe(true);
    expect(
      classify({ operation: 'updateCall call_hook', status: 422, headers: {}, body: { msg: 'call session is gone' } })
        ?.type,
    ).toBe(ErrorType.CallGone);
    expect(classify({ operation: 'getCall', status: 404, headers: {}, body: {} })?.type).toBe(ErrorType.CallGone);
    expect(classify({ operation: 'updateCall call_hook', status: 202, headers: {}, body: undefined })).toBeUndefined();
  });

  it('reads a call record as alive until it reports an end', () => {
    expect(carrier.callStatusRequest(CALL_SID)).toEqual({
      method: 'GET',
      path: `/Accounts/${ACCOUNT_SID}/Calls/${CALL_SID}`,
      operation: 'getCall',
    });
    expect(carrier.callIsAlive({ call_sid: CALL_SID, call_status: 'in-progress' })).toBe(true);
    for (const status of ['completed', 'failed', 'busy', 'no-answer'])
      expect(carrier.callIsAlive({ call_status: status })).toBe(false);
  });
});

describe('jambonz documents from session replies', () => {
  const options = { publicBaseUrl: BASE, secret: SECRET };
  const render = (...bodies: CallCommandBody[]) => documentForCommands(bodies.map(command), options);

  it('renders every document operation as verbs that validate against the verb specifications', () => {
    for (const body of ALL_OPS.filter((b) => JAMBONZ_OPS[b.op] === 'document')) {
      const { verbs, skipped } = render(body);
      expect(skipped).toEqual([]);
      expect(() => validateVerbDocument(onTheWire(verbs))).not.toThrow();
      // jambonz hangs up when verbs run out: every document ends by calling back or by ending the call.
      expect(callsBack(verbs.at(-1)!)).toBe(true);
    }
  });

  it('follows a verb that reports nothing (answer) with a redirect that hands the step back', () => {
    const answer = command({ op: 'answer' });
    const { verbs } = documentForCommands([answer], options);
    expect(verbs.map((v) => v.verb)).toEqual(['answer', 'redirect']);
    const redirect = verbs[1] as Extract<JambonzVerb, { verb: 'redirect' }>;
    expect(verifyHookToken(redirect.actionHook, [SECRET])).toEqual({
      ok: true,
      hook: 'next',
      workflowId: WORKFLOW_ID,
      controlId: answer.commandKey,
    });
  });

  it('adds nothing after a verb that calls back or ends the call', () => {
    expect(render({ op: 'gather', maxDigits: 1 }).verbs.map((v) => v.verb)).toEqual(['gather']);
    expect(render({ op: 'say', text: 'Hi' }).verbs.map((v) => v.verb)).toEqual(['say', 'redirect']);
    expect(render({ op: 'hangup' }).verbs.map((v) => v.verb)).toEqual(['hangup']);
    expect(render({ op: 'connect', to: '+15550002000' }).verbs.map((v) => v.verb)).toEqual(['dial']);
  });

  it('records to the gateway recording socket (ws, with the operation token)', () => {
    const record = command({ op: 'recordStart' });
    const { verbs } = documentForCommands([record], options);
    const listen = verbs[0] as Extract<JambonzVerb, { verb: 'listen' }>;
    expect(listen.url).toBe(recordingStreamUrl(options, WORKFLOW_ID, record.commandKey));
    expect(listen.url.startsWith('wss://gateway.example.com/webhooks/jambonz?hook=listen&')).toBe(true);
    expect(verifyHookToken(listen.url, [SECRET])).toMatchObject({
      ok: true,
      hook: 'listen',
      controlId: record.commandKey,
    });
  });

  it('skips, and reports, a command that cannot be expressed', () => {
    const { verbs, skipped } = render({ op: 'connect', to: 'not-a-number' });
    expect(skipped).toEqual([expect.objectContaining({ op: 'connect', reason: expect.stringMatching(/cannot dial/) })]);
    expect(verbs.map((v) => v.verb)).toEqual(['redirect']);
  });

  it('holds with a pause and a redirect back whose URL differs every time', () => {
    const first = holdDocumentFor(options, WORKFLOW_ID);
    const second = holdDocumentFor(options, WORKFLOW_ID);
    expect(() => validateVerbDocument(onTheWire(first))).not.toThrow();
    expect(first.map((v) => v.verb)).toEqual(['pause', 'redirect']);
    const url = (v: JambonzVerb[]) => (v[1] as Extract<JambonzVerb, { verb: 'redirect' }>).actionHook;
    expect(url(first)).not.toBe(url(second));
    expect(verifyHookToken(url(first), [SECRET])).toEqual({ ok: true, hook: 'next', workflowId: WORKFLOW_ID });
    expect(() => validateVerbDocument(onTheWire(hangupDocument()))).not.toThrow();
  });
});
