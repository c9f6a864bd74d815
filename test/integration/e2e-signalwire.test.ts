import { request } from 'undici';
import { inboundCallWorkflowId } from '../../src/calls';
import { documentUrl, signSignalWireRequest, statusCallbackUrl } from '../../src/providers/signalwire';
import { eventually } from '../support/net';
import { startTestStack, replayCompletedSessions, type TestStack } from '../support/stack';

/**
 * The three demo callers end to end on SignalWire, with the flow code unchanged: simulator → signed SWML
 * fetches and status callbacks → gateway → Temporal (update-with-start, nextDocument) → worker → SWML
 * documents and Calling API commands → simulator, all real processes on loopback.
 */

/** The dev signing key `startStack` gives the SignalWire simulator and our parts. */
const SIGNING_KEY = 'PSK-dev-signing-key';

describe('default IVR on SignalWire, end to end', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack({ simulate: ['signalwire'] });
  });
  afterAll(async () => {
    await stack?.close();
  });
  afterEach(() => {
    if (expect.getState().assertionCalls !== expect.getState().numPassingAsserts) console.log(stack.output.join('\n'));
  });

  it('answers a signed inbound SWML fetch from any HTTP client with a document that answers the call', async () => {
    const callId = 'b7f1c6d2-0000-4000-8000-00000000a001';
    const url = `${stack.gatewayUrl}/webhooks/signalwire/swml`;
    const body = Buffer.from(
      JSON.stringify({
        call: {
          call_id: callId,
          node_id: 'node-1',
          segment_id: 'segment-1',
          call_state: 'created',
          direction: 'inbound',
          type: 'phone',
          from: '+15557770009',
          to: '+15550001000',
          from_number: '+15557770009',
          to_number: '+15550001000',
          headers: [],
          project_id: 'dev-project',
          space_id: 'dev-space',
        },
        vars: {},
        envs: {},
        params: {},
      }),
    );
    const post = (headers: Record<string, string>) =>
      request(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });

    // Unsigned and wrongly signed fetches are refused, and start nothing.
    const unsigned = await post({});
    expect(unsigned.statusCode).toBe(401);
    await unsigned.body.dump();
    const wrong = await post({ 'x-signalwire-signature': signSignalWireRequest('not-the-key', url, body) });
    expect(wrong.statusCode).toBe(401);
    await wrong.body.dump();
    const workflowId = inboundCallWorkflowId('signalwire', callId);
    await expect(stack.client.workflow.getHandle(workflowId).describe()).rejects.toThrow();

    const signed = await post({
      'x-signalwire-signature': signSignalWireRequest(SIGNING_KEY, url, body, 'sha1'),
      'x-signalwire-sha256-signature': signSignalWireRequest(SIGNING_KEY, url, body, 'sha256'),
    });
    expect(signed.statusCode).toBe(200);
    const document = (await signed.body.json()) as {
      version: string;
      sections: { main: Array<Record<string, unknown>> };
    };
    expect(document.version).toBe('1.0.0');
    expect(document.sections.main[0]).toEqual({ answer: {} });
    expect(Object.keys(document.sections.main.at(-1)!)).toEqual(['transfer']);
    await eventually(
      'the session to run',
      () => stack.state(workflowId).then((s) => s.flow === 'defaultIvr'),
      10_000,
      200,
    );
    await stack.client.workflow.getHandle(workflowId).terminate('test over');
  });

  it('checks the token in callback and document URLs, and answers malformed callbacks with 400', async () => {
    const workflowId = inboundCallWorkflowId('signalwire', 'b7f1c6d2-0000-4000-8000-00000000a002');
    const statusUrl = statusCallbackUrl(stack.gatewayUrl, SIGNING_KEY, workflowId);
    const forged = statusUrl.replace(/t=[^&]+/, 't=forged');
    const callback = Buffer.from(
      JSON.stringify({
        event_type: 'calling.call.state',
        event_channel: 'swml:x',
        timestamp: 1_777_565_701.5,
        project_id: 'p',
        space_id: 's',
        params: {
          call_id: 'b7f1c6d2-0000-4000-8000-00000000a002',
          node_id: 'n',
          call_state: 'ended',
          direction: 'inbound',
          end_reason: 'hangup',
        },
      }),
    );
    const post = async (url: string, body: Buffer, headers: Record<string, string> = {}) => {
      const res = await request(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body,
      });
      return { status: res.statusCode, body: (await res.body.json()) as { error?: string; status?: string } };
    };
    expect((await post(forged, callback)).status).toBe(401);
    expect((await post(`${stack.gatewayUrl}/webhooks/signalwire/status`, callback)).status).toBe(401);
    const malformed = await post(statusUrl, Buffer.from('{"event_type":"calling.call.state"}'));
    expect(malformed).toEqual({ status: 400, body: expect.objectContaining({ error: 'malformed status callback' }) });
    // A callback for a session that does not run (ended, or never started) is acknowledged and dropped.
    expect(await post(statusUrl, callback)).toEqual({
      status: 200,
      body: expect.objectContaining({ status: 'accepted' }),
    });
    await expect(stack.client.workflow.getHandle(workflowId).describe()).rejects.toThrow();

    // A document URL naming a session must carry its token too, even when the fetch is signed.
    const documentFetch = Buffer.from(
      JSON.stringify({ call: { call_id: 'c', call_state: 'answered', direction: 'inbound' }, vars: {}, params: {} }),
    );
    const forgedDocument = documentUrl(stack.gatewayUrl, SIGNING_KEY, workflowId).replace(/t=[^&]+/, 't=forged');
    expect(
      (
        await post(forgedDocument, documentFetch, {
          'x-signalwire-signature': signSignalWireRequest(SIGNING_KEY, forgedDocument, documentFetch),
        })
      ).status,
    ).toBe(401);
  });

  it('places an outbound call on SignalWire and runs the outbound flow on it', async () => {
    const res = await request(`${stack.gatewayUrl}/calls`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        provider: 'signalwire',
        to: '+15550003000',
        from: '+15550001000',
        flow: 'outboundNotice',
        requestId: 'sw-outbound-1',
      }),
    });
    expect(res.statusCode).toBe(202);
    const { workflowId } = (await res.body.json()) as { workflowId: string };
    const outcome = await stack.outcome(workflowId);
    // The callee (a scripted person who presses nothing) hears the notice three times.
    expect(outcome.flowResult).toBe('not confirmed');
    const state = await stack.state(workflowId);
    expect(state.operations.filter((o) => o.op === 'gather')).toHaveLength(3);
    const dials = (await stack.signalwire.commands()).filter((c) => c.command === 'dial');
    expect(dials).toEqual([expect.objectContaining({ status: 200, callId: state.callId })]);
    const callee = await stack.signalwire.waitForEnd(state.callId!);
    expect(callee.heard.join(' ')).toContain('We will call you again later.');
  });

  it('replays the recorded SignalWire histories deterministically against the current workflow code', async () => {
    expect(await replayCompletedSessions(stack.client, `CallProvider = 'signalwire'`)).toBeGreaterThanOrEqual(1);
  });
});
