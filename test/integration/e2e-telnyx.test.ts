import { IVR_PROMPTS } from '../../workflows/flows/default-ivr';
import { validateTelnyxWebhook } from '../../src/simulator/telnyx/spec';
import { startTestStack, replayCompletedSessions, type TestStack } from '../support/stack';

/**
 * The three demo callers end to end on Telnyx: simulator → signed webhooks → gateway → Temporal →
 * worker → Telnyx REST commands → simulator, all real processes on loopback.
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

  it('runs the three demo callers to the end their scripts say', async () => {
    const agentCaller = await stack.placeCall({
      from: '+15557770001',
      to: '+15550001000',
      presses: ['1'],
      hangupAfterMs: 60_000,
    });
    const voicemailCaller = await stack.placeCall({
      from: '+15557770002',
      to: '+15550001000',
      presses: ['2'],
      voicemail: { talkMs: 2000 },
    });
    const hangupCaller = await stack.placeCall({ from: '+15557770003', to: '+15550001000', hangupDuringPrompt: 0 });

    const result = (id: string) => stack.outcome(id);
    const [agent, voicemail, hungUp] = await Promise.all([
      result(agentCaller.workflowId),
      result(voicemailCaller.workflowId),
      result(hangupCaller.workflowId),
    ]);

    // 1: bridged to the agent number from the routing table, until the caller hung up.
    expect(agent.flowResult).toBe('pressed 1, bridged to agent +15550002000');
    expect(agent.digits).toBe('1');
    const agentSim = await stack.simCall(agentCaller.callControlId);
    expect(agentSim.state).toBe('ended');
    expect(agentSim.bridgedWith).toBeDefined();
    expect(agentSim.heard.join(' ')).toContain(IVR_PROMPTS.connecting);

    // 2: a voicemail after the beep, saved although the caller ended it by hanging up.
    expect(voicemail.flowResult).toMatch(/^pressed 2, voicemail saved at https?:\/\//);
    expect(voicemail.recordings).toHaveLength(1);
    const voicemailState = await stack.state(voicemailCaller.workflowId);
    expect(voicemailState.recordings[0].url).toBe(voicemail.recordings[0]);
    expect(voicemailState.endCause).toBe('normal');

    // 3: hung up while the menu was playing; the session ended with the call and sent nothing after.
    expect(hungUp.flowResult).toMatch(/^call ended \(.+\) during gather$/);
    const commands = await stack.simCommands();
    const afterHangup = commands.filter((c) => c.callControlId === hangupCaller.callControlId && c.status !== 200);
    expect(afterHangup).toEqual([]);

    // Every command carried a command_id, none was executed twice, and the carrier accepted them all.
    const mine = commands.filter((c) =>
      [agentCaller, voicemailCaller, hangupCaller].some((x) => c.body && JSON.stringify(c).includes(x.callControlId)),
    );
    expect(mine.length).toBeGreaterThan(8);
    for (const c of mine) expect(c.commandId).toEqual(expect.stringMatching(/^call:telnyx:.+#\d+$/));
    expect(mine.filter((c) => c.duplicate)).toEqual([]);
    const ids = mine.map((c) => `${c.callControlId}|${c.commandId}`);
    expect(new Set(ids).size).toBe(ids.length);

    // Every webhook the simulator sent validates against the official spec.
    const webhooks = await stack.simWebhooks();
    expect(webhooks.length).toBeGreaterThan(15);
    for (const w of webhooks) expect(validateTelnyxWebhook(w.body)).toEqual([]);
  });

  it('shows each call in Temporal with search attributes, a summary and the state query', async () => {
    const caller = await stack.placeCall({
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
    expect(await replayCompletedSessions(stack.client, `CallProvider = 'telnyx'`)).toBeGreaterThanOrEqual(4);
  });
});
