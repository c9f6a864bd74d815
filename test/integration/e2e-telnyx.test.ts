import { secondsBetween } from '../../workflows/timeline';
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
      CallOutcome: 'voicemail',
    });
    expect(await description.staticSummary()).toBe('Inbound telnyx call +15557770004 → +15550001000 · defaultIvr');
    const state = await stack.state(caller.workflowId);
    expect(state).toMatchObject({ status: 'ended', provider: 'telnyx', digits: '2', flow: 'defaultIvr' });
    const listed = await stack.client.workflow.count(`CallFrom = '+15557770004' AND CallStatus = 'ended'`);
    expect(listed.count).toBe(1);
  });

  it('tells the call’s story: a timeline in the state and the current details, its numbers as search attributes', async () => {
    const agent = '+15550002000';
    const caller = await stack.telnyx.placeCall({
      from: '+15557770005',
      to: '+15550001000',
      presses: ['1'],
      hangupAfterMs: 20_000,
    });
    expect((await stack.outcome(caller.workflowId)).flowResult).toBe(`pressed 1, bridged to agent ${agent}`);
    const state = await stack.state(caller.workflowId);
    const story = ['answered', 'pressed 1', `dialing agent ${agent}`, `bridged to ${agent}`, 'caller hung up'];
    const told = state.timeline.map((entry) => entry.text);
    expect(told.filter((text) => story.includes(text))).toEqual(story);
    const times = state.timeline.map((entry) => entry.at);
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(state).toMatchObject({ outcome: 'bridged', bridge: { address: agent } });
    expect(state.talkSeconds).toBeGreaterThanOrEqual(1);

    const handle = stack.client.workflow.getHandle(caller.workflowId);
    const attrs = Object.fromEntries(
      (await handle.describe()).typedSearchAttributes.getAll().map((pair) => [pair.key.name, pair.value]),
    );
    expect(attrs).toMatchObject({
      CallOutcome: 'bridged',
      CallAgent: agent,
      CallTalkSeconds: state.talkSeconds,
      CallAnswerSeconds: secondsBetween(state.startedAt, state.answeredAt!),
    });
    const listed = await stack.client.workflow.count(
      `CallOutcome = 'bridged' AND CallTalkSeconds >= 1 AND CallFrom = '+15557770005'`,
    );
    expect(listed.count).toBe(1);

    // The current details the UI shows (served by a query, from the worker's memory).
    const { currentDetails } = await handle.query<{ currentDetails: string }>('__temporal_workflow_metadata');
    expect(currentDetails).toContain('outcome: **bridged**');
    expect(currentDetails).toMatch(/`\d\d:\d\d` caller hung up/);

    // The story costs no history per event: the status changes carry the attributes known by then, and one
    // upsert at the end tells the outcome; details and timeline are in memory only.
    const { events } = await handle.fetchHistory();
    const upserted = events!.flatMap((e) => {
      const fields = e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields;
      // The SDK's own upsert for each `patched()` (TemporalChangeVersion) is a patch's, not the story's.
      const names = Object.keys(fields ?? {}).filter((name) => name !== 'TemporalChangeVersion');
      return names.length > 0 ? [names] : [];
    });
    expect(upserted.filter((names) => names.includes('CallOutcome'))).toEqual([upserted.at(-1)]);
    const signals = events!.filter((e) => e.workflowExecutionSignaledEventAttributes).length;
    expect(upserted.length).toBeLessThan(signals / 2);
  });

  it('replays the recorded histories deterministically against the current workflow code', async () => {
    expect(await replayCompletedSessions(stack.client, `CallProvider = 'telnyx'`)).toBeGreaterThanOrEqual(1);
  });
});
