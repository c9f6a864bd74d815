import { request } from 'undici';
import { PROVIDERS, type CallState, type Provider } from '../../src/calls';
import { IVR_PROMPTS } from '../../workflows/flows/default-ivr';
import { eventually } from '../support/net';
import { startTestStack, type TestStack } from '../support/stack';

/**
 * Live control from REST (`POST /calls/:id/actions/:action`) on calls running the default IVR, on all three
 * simulated carriers at once: say and record pause/resume during a voicemail, a control the carrier's rules
 * forbid refused with nothing sent, a redirect to another flow that continues the same session, and a hangup
 * that ends it.
 */

const REDIRECTED_NOTICE = 'Redirected notice.';
const LIVE_SAY = 'Live control says hello.';

describe('live control of a running call', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack({ simulate: [...PROVIDERS], timeScale: 0.25 });
  });
  afterAll(async () => {
    await stack?.close();
  });
  afterEach(() => {
    if (expect.getState().assertionCalls !== expect.getState().numPassingAsserts) console.log(stack.output.join('\n'));
  });

  async function control(workflowId: string, action: string, body?: object) {
    const res = await request(`${stack.gatewayUrl}/calls/${encodeURIComponent(workflowId)}/actions/${action}`, {
      method: 'POST',
      ...(body ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) } : {}),
    });
    return { status: res.statusCode, body: (await res.body.json()) as Record<string, any> };
  }

  /** An inbound call to the default IVR; the simulator's record of it by id. */
  async function placeCall(provider: Provider, presses: Array<string | null>) {
    const script = { from: '+15557770000', to: '+15550001000', presses, voicemail: { talkMs: 120_000 } };
    switch (provider) {
      case 'telnyx': {
        const { callControlId, workflowId } = await stack.telnyx.placeCall(script);
        return { workflowId, heard: async () => (await stack.telnyx.call(callControlId)).heard };
      }
      case 'signalwire': {
        const { callId, workflowId } = await stack.signalwire.placeCall(script);
        return { workflowId, heard: async () => (await stack.signalwire.call(callId)).heard };
      }
      case 'jambonz': {
        const { callSid, workflowId } = await stack.jambonz.placeCall(script);
        return { workflowId, heard: async () => (await stack.jambonz.call(callSid)).heard };
      }
    }
  }

  const running = (state: CallState, op: string) => state.operations.some((o) => o.op === op && !o.endedAt);

  /** What each carrier received for the record pause/resume controls, from its simulator's log. */
  async function recordControlsSent(provider: Provider): Promise<string[]> {
    switch (provider) {
      case 'telnyx':
        return (await stack.telnyx.commands()).map((c) => c.action).filter((a) => /^record_(pause|resume)$/.test(a));
      case 'signalwire':
        return (await stack.signalwire.commands()).map((c) => c.command).filter((c) => /^calling\.record\./.test(c));
      case 'jambonz':
        return (await stack.jambonz.commands())
          .map((c) => (c.body as { listen_status?: string } | undefined)?.listen_status)
          .filter((s): s is string => s !== undefined);
    }
  }

  it('says, pauses and resumes a recording, refuses what the carrier forbids, and hangs up', async () => {
    await Promise.all(
      PROVIDERS.map(async (provider) => {
        const call = await placeCall(provider, ['2']);
        await eventually(`${provider}: the voicemail recording`, async () => {
          const state = await stack.state(call.workflowId);
          return running(state, 'recordStart') && (await call.heard()).includes(IVR_PROMPTS.voicemail);
        });
        // The recording verb starts a moment after its prompt.
        await new Promise((resolve) => setTimeout(resolve, 1500));

        const said = await control(call.workflowId, 'say', { text: LIVE_SAY });
        expect(said).toMatchObject({ status: 200, body: { action: 'say', result: { outcome: 'sent' } } });
        await eventually(`${provider}: the caller hears the control`, async () =>
          (await call.heard()).includes(LIVE_SAY),
        );

        const paused = await control(call.workflowId, 'record-pause');
        const resumed = await control(call.workflowId, 'record-resume');
        if (provider === 'signalwire') {
          // The voicemail runs as a SWML record step: SignalWire knows it by a control_id that is not ours.
          expect(paused).toMatchObject({ status: 422, body: { code: 'carrier-rule', carrier: 'signalwire' } });
          expect(resumed.status).toBe(422);
          expect(await recordControlsSent(provider)).toEqual([]);
        } else {
          expect(paused).toMatchObject({ status: 200, body: { result: { outcome: 'sent' } } });
          expect(resumed).toMatchObject({ status: 200, body: { result: { outcome: 'sent' } } });
          await eventually(`${provider}: pause and resume reach the carrier`, async () => {
            const sent = await recordControlsSent(provider);
            return sent.length >= 2 ? sent : undefined;
          });
          expect(await recordControlsSent(provider)).toEqual(
            provider === 'telnyx' ? ['record_pause', 'record_resume'] : ['pause', 'resume'],
          );
        }

        // Mute: unsupported on Telnyx and SignalWire, and on jambonz only during a dial.
        const muted = await control(call.workflowId, 'mute');
        expect(muted.status).toBe(422);
        expect(muted.body.code).toBe(provider === 'jambonz' ? 'carrier-rule' : 'unsupported');
        expect(muted.body.detail).toContain(provider);

        const hungUp = await control(call.workflowId, 'hangup');
        expect(hungUp).toMatchObject({ status: 200, body: { result: { outcome: 'ended' } } });
        const outcome = await stack.outcome(call.workflowId);
        expect(outcome.status).toBe('ended');
        expect(outcome.flowResult).toMatch(/pressed 2|call ended/);
        // Hung up from REST is hung up by this session: the timeline and CallOutcome say so, not "caller hung up".
        expect((await stack.state(call.workflowId)).endedBy).toBe('session');

        const late = await control(call.workflowId, 'say', { text: 'too late' });
        expect(late).toMatchObject({ status: 409, body: { code: 'call-ended' } });
      }),
    );
    // jambonz was never asked to mute (the session refused it first).
    expect(
      (await stack.jambonz.commands()).some(
        (c) => (c.body as object | undefined) && 'mute_status' in (c.body as object),
      ),
    ).toBe(false);
  });

  it('redirects a call to another flow in the same session', async () => {
    await Promise.all(
      PROVIDERS.map(async (provider) => {
        const call = await placeCall(provider, []);
        await eventually(`${provider}: the IVR menu`, async () =>
          running(await stack.state(call.workflowId), 'gather'),
        );

        const redirected = await control(call.workflowId, 'redirect', {
          flow: 'outboundNotice',
          args: { message: REDIRECTED_NOTICE },
        });
        expect(redirected).toMatchObject({
          status: 200,
          body: { result: { outcome: 'redirected', flow: 'outboundNotice' } },
        });
        await eventually(`${provider}: the new flow's prompt`, async () =>
          (await call.heard()).some((h) => h.startsWith(REDIRECTED_NOTICE)),
        );
        const state = await stack.state(call.workflowId);
        expect(state).toMatchObject({ flow: 'outboundNotice', runs: 1 });

        expect((await control(call.workflowId, 'hangup')).status).toBe(200);
        const outcome = await stack.outcome(call.workflowId);
        expect(outcome).toMatchObject({ flow: 'outboundNotice', status: 'ended' });
      }),
    );
  });

  it('answers 404 for an unknown call, 400 for an unknown flow or a bad body', async () => {
    expect((await control('call:telnyx:no-such-call', 'hangup')).body).toMatchObject({
      status: 404,
      code: 'not-found',
    });
    expect((await control('queue:sales', 'hangup')).status).toBe(404);
    expect((await control('call:telnyx:x', 'redirect', { flow: 'nope' })).body.code).toBe('unknown-flow');
    expect((await control('call:telnyx:x', 'say', {})).body.code).toBe('validation-failed');
  });
});
