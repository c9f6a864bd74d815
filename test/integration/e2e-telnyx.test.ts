import { startTestStack, replayCompletedSessions, type TestStack } from '../support/stack';

/**
 * Telnyx end to end beyond the demo callers (test/integration/demo-callers.test.ts): what a call shows in
 * Temporal, and replay of what ran.
 */
describe('default IVR on Telnyx, end to end', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack();
  });
  afterAll(async () => {
    await stack?.close();
  });
  afterEach(() => {
    if (expect.getState().assertionCalls !== expect.getState().numPassingAsserts) console.log(stack.output.join('\n'));
  });

  it('shows each call in Temporal with search attributes, a summary and the state query', async () => {
    const caller = await stack.telnyx.placeCall({
      from: '+15557770004',
      to: '+15550001000',
      presses: ['2'],
      voicemail: { talkMs: 500 },
    });
    await stack.outcome(caller.workflowId);
    const handle = stack.client.workflow.getHandle(caller.workflowId);
    const description = await handle.describe();
    const attrs = Object.fromEntries(
      description.typedSearchAttributes.getAll().map((pair) => [pair.key.name, pair.value]),
    );
    expect(attrs).toMatchObject({
      CallProvider: 'telnyx',
      CallStatus: 'ended',
      CallDirection: 'inbound',
      CallFlow: 'defaultIvr',
      CallFrom: '+15557770004',
      CallTo: '+15550001000',
    });
    expect(await description.staticSummary()).toBe('Inbound telnyx call +15557770004 → +15550001000 · defaultIvr');
    const state = await stack.state(caller.workflowId);
    expect(state).toMatchObject({ status: 'ended', provider: 'telnyx', digits: '2', flow: 'defaultIvr' });
    const listed = await stack.client.workflow.count(`CallFrom = '+15557770004' AND CallStatus = 'ended'`);
    expect(listed.count).toBe(1);
  });

  it('replays the recorded histories deterministically against the current workflow code', async () => {
    expect(await replayCompletedSessions(stack.client, `CallProvider = 'telnyx'`)).toBeGreaterThanOrEqual(1);
  });
});
