import { inboundCallWorkflowId, PROVIDERS, queueWorkflowId, type CallOutcome, type Provider } from '../../src/calls';
import type { CallerScript } from '../../src/simulator/telnyx/types';
import { validateTelnyxWebhook } from '../../src/simulator/telnyx/spec';
import { validateUpdateCall, type UpdateCallBody } from '../../src/providers/jambonz';
import { IVR_PROMPTS } from '../../workflows/flows/default-ivr';
import { validateVerbDocument } from '../unit/providers/jambonz/verb-spec';
import { runQueueDemo } from '../../scripts/demo';
import { replayCompletedSessions, startTestStack, type TestStack } from '../support/stack';

/**
 * The three demo callers of `npm run demo`, on every carrier at once through one gateway and one worker,
 * with the same flow code: simulator → signed webhooks → gateway → Temporal → worker → carrier commands or
 * documents → simulator, all real processes on loopback. What each carrier's wire must show is in its row.
 */

/** What the simulator saw of a call, the same on every carrier. */
interface SimulatedCall {
  heard: string[];
  bridgedWith?: string;
}

interface DemoCarrier {
  /** How long the agent caller stays bridged before hanging up (simulated time). */
  agentTalkMs: number;
  place(stack: TestStack, script: CallerScript): Promise<{ callId: string; workflowId: string }>;
  ended(stack: TestStack, callId: string): Promise<SimulatedCall>;
  /** The carrier's own wire checks over every request and webhook of these calls. */
  checkWire(stack: TestStack, callIds: string[]): Promise<void>;
}

const CARRIERS = {
  telnyx: {
    agentTalkMs: 60_000,
    place: async (stack, script) => {
      const { callControlId, workflowId } = await stack.telnyx.placeCall(script);
      return { callId: callControlId, workflowId };
    },
    ended: (stack, callId) => stack.telnyx.waitForEnd(callId),
    async checkWire(stack, callIds) {
      // Every command carried a command_id, none ran twice, and Telnyx accepted all but a hang-up racing
      // the caller's own; every webhook validates against the official spec.
      const mine = (await stack.telnyx.commands()).filter((c) => callIds.includes(c.callControlId ?? ''));
      expect(mine.length).toBeGreaterThan(8);
      for (const c of mine) expect(c.commandId).toEqual(expect.stringMatching(/^call:telnyx:.+#\d+$/));
      expect(mine.filter((c) => c.duplicate)).toEqual([]);
      const ids = mine.map((c) => `${c.callControlId}|${c.commandId}`);
      expect(new Set(ids).size).toBe(ids.length);
      const webhooks = await stack.telnyx.webhooks();
      expect(webhooks.length).toBeGreaterThan(15);
      for (const w of webhooks) expect(validateTelnyxWebhook(w.body)).toEqual([]);
    },
  },
  signalwire: {
    agentTalkMs: 20_000,
    place: (stack, script) => stack.signalwire.placeCall(script),
    ended: (stack, callId) => stack.signalwire.waitForEnd(callId),
    async checkWire(stack) {
      // Every Calling API request was valid by the spec and accepted (the simulator answers 422 otherwise),
      // none ran twice; the one refusal allowed is a hang-up racing the caller's own (404: gone).
      const commands = await stack.signalwire.commands();
      expect(commands.length).toBeGreaterThan(0);
      expect(commands.filter((c) => c.status !== 200 && !(c.command === 'calling.end' && c.status === 404))).toEqual(
        [],
      );
      expect(commands.filter((c) => c.duplicate)).toEqual([]);
      // Every SWML fetch and status callback was answered 2xx and matched the documented shapes.
      const webhooks = await stack.signalwire.webhooks();
      expect(webhooks.filter((w) => w.specErrors.length > 0)).toEqual([]);
      expect(webhooks.filter((w) => w.status !== 'delivered')).toEqual([]);
    },
  },
  jambonz: {
    agentTalkMs: 16_000,
    place: async (stack, script) => {
      const { callSid, workflowId } = await stack.jambonz.placeCall(script);
      return { callId: callSid, workflowId };
    },
    ended: (stack, callId) => stack.jambonz.waitForEnd(callId),
    async checkWire(stack, callIds) {
      // Every hook that wanted verbs got a document valid against the verb specifications, none refused.
      const hooks = (await stack.jambonz.webhooks()).filter((h) => callIds.includes(h.callSid));
      const documents = hooks.filter((h) => h.type !== 'call:status');
      expect(documents.length).toBeGreaterThan(8);
      for (const hook of documents) {
        expect(hook).toMatchObject({ status: 'answered', httpStatus: 200 });
        expect(hook.invalidVerbs).toBeUndefined();
        expect(() => validateVerbDocument(JSON.parse(hook.response ?? '[]'))).not.toThrow();
      }
      expect(hooks.filter((h) => h.type === 'call:status').every((h) => h.status === 'answered')).toBe(true);
      // Nothing that breaks jambonz's Live Call Control combination rules ever reached it.
      const updates = (await stack.jambonz.commands()).filter((c) => c.action === 'updateCall');
      for (const update of updates) {
        expect(() => validateUpdateCall(update.body as UpdateCallBody)).not.toThrow();
        expect(update.status).not.toBe(400);
      }
    },
  },
} satisfies Record<Provider, DemoCarrier>;

describe('the three demo callers on every carrier, one flow', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack({ simulate: [...PROVIDERS] });
  });
  afterAll(async () => {
    await stack?.client.workflow
      .getHandle(queueWorkflowId('support'))
      .terminate('test over')
      .catch(() => undefined);
    await stack?.close();
  });
  afterEach(() => {
    if (expect.getState().assertionCalls !== expect.getState().numPassingAsserts) console.log(stack.output.join('\n'));
  });

  it.each(PROVIDERS)('%s: agent, voicemail and a hang-up in the menu end as their scripts say', async (provider) => {
    const carrier: DemoCarrier = CARRIERS[provider];
    const agentCaller = await carrier.place(stack, {
      from: '+15557770001',
      to: '+15550001000',
      presses: ['1'],
      hangupAfterMs: carrier.agentTalkMs,
    });
    const voicemailCaller = await carrier.place(stack, {
      from: '+15557770002',
      to: '+15550001000',
      presses: ['2'],
      voicemail: { talkMs: 2000 },
    });
    const hangupCaller = await carrier.place(stack, {
      from: '+15557770003',
      to: '+15550001000',
      hangupDuringPrompt: 0,
    });
    const [agent, voicemail, hungUp]: CallOutcome[] = await Promise.all(
      [agentCaller, voicemailCaller, hangupCaller].map((c) => stack.outcome(c.workflowId)),
    );

    // 1: bridged to the agent number from the routing table, until the caller hung up.
    expect(agent.flowResult).toBe('pressed 1, bridged to agent +15550002000');
    expect(agent.digits).toBe('1');
    const agentSim = await carrier.ended(stack, agentCaller.callId);
    expect(agentSim.bridgedWith).toBeDefined();
    expect(agentSim.heard.join(' ')).toContain(IVR_PROMPTS.connecting);

    // 2: a voicemail after the beep, saved although the caller ended it by hanging up.
    expect(voicemail.flowResult).toMatch(/^pressed 2, voicemail saved at https?:\/\/.+$/);
    expect(voicemail.recordings).toHaveLength(1);
    const voicemailState = await stack.state(voicemailCaller.workflowId);
    expect(voicemailState.recordings[0].url).toBe(voicemail.recordings[0]);
    expect(voicemailState.endCause).toBe('normal');

    // 3: hung up while the menu was playing; the session ended with the call.
    expect(hungUp.flowResult).toMatch(/^call ended \(.+\) during gather$/);
    await carrier.ended(stack, hangupCaller.callId);

    await carrier.checkWire(stack, [agentCaller.callId, voicemailCaller.callId, hangupCaller.callId]);

    // What just ran replays deterministically against the current workflow code.
    const callers = `CallFrom IN ('+15557770001', '+15557770002', '+15557770003')`;
    expect(await replayCompletedSessions(stack.client, `CallProvider = '${provider}' AND ${callers}`)).toBe(3);
  });

  it("the support queue's demo: callers wait, one abandons, one takes a callback, the agents answer them all", async () => {
    const ended: string[] = [];
    const printed: string[] = [];
    const view = await runQueueDemo(
      { gatewayUrl: stack.gatewayUrl },
      { carrier: 'telnyx', simulatorUrl: stack.simulatorUrls.telnyx! },
      async (carrier, _simulatorUrl, name, callId) => {
        const outcome = await stack.outcome(inboundCallWorkflowId(carrier, callId));
        ended.push(`${name}: ${outcome.flowResult}`);
      },
      { agentsAfterMs: 6000, log: (line) => printed.push(line) },
    );
    expect(
      ended.filter((e) => /^waits for an agent .*: connected to agent agent[12] after \d+ s$/.test(e)),
    ).toHaveLength(3);
    expect(ended).toContainEqual(expect.stringMatching(/^hangs up while waiting .*: caller hung up while waiting$/));
    expect(ended).toContainEqual(expect.stringMatching(/^presses \* for a callback .*: callback scheduled$/));
    expect(view.stats).toMatchObject({ offered: 5, answered: 4, abandoned: 1, callbacksAnswered: 1, waiting: 0 });
    // The line was shown before the agents came, and the figures at the end.
    expect(printed.join('\n')).toMatch(/support queue: 4 waiting \(#1 caller, #2 caller, #3 caller, #4 callback\)/);
    expect(printed.join('\n')).toMatch(/offered 5, answered 4, abandoned 1, overflowed 0, callbacks 1\/1 answered/);
  });
});
