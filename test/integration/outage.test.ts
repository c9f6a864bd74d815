import type { CallState } from '../../src/calls';
import type { JambonzHookDelivery } from '../../src/simulator/jambonz/types';
import type { SignalWireDelivery } from '../../src/simulator/signalwire/types';
import { IVR_PROMPTS } from '../../workflows/flows/default-ivr';
import { eventually } from '../support/net';
import { startTestStack, type TestStack } from '../support/stack';
import { restartTestServer } from '../support/temporal-server';

/**
 * A Temporal outage (the run's dev server SIGKILLed, down 12 s, restarted; the other integration tests share it,
 * so the test always waits for it to be back) with the document carriers, whose webhooks are not retried in time:
 * every hook and fetch is answered within its deadline (holding verbs or a holding document whose redirect carries
 * the events, signed), new calls are held rather than rejected and start once Temporal is back, and no event is
 * lost.
 */

const DOWN_MS = 12_000;
/**
 * The gateway's answer-by budget for both (JAMBONZ_HOOK_DEADLINE_MS, SIGNALWIRE_FETCH_DEADLINE_MS defaults),
 * inside jambonz's hook timeout and SignalWire's fetch timeout (10 s, as the simulators have them).
 */
const DEADLINE_MS = 7000;
const TIME_SCALE = 0.25;
const VOICEMAIL = /^pressed 2, voicemail saved at https?:\/\//;

const carriesEvents = (url: string) => new URL(url).searchParams.has('ev');
const tookMs = (hook: JambonzHookDelivery) => Date.parse(hook.answeredAt ?? '') - Date.parse(hook.sentAt);

describe('a 12 s Temporal outage with jambonz and SignalWire calls', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack({ simulate: ['jambonz', 'signalwire'], timeScale: TIME_SCALE });
  });
  afterAll(async () => {
    await stack?.close();
  });
  afterEach(() => {
    // Always printed: a wait that times out throws without failing an assertion, which the usual check misses.
    console.log(stack.output.slice(-200).join('\n'));
  });

  it('answers every hook in time, holds new calls, loses no event, and every flow runs to its end', async () => {
    const jambonz = stack.jambonz;
    // A caller already in the menu, silent at the first one: its gather's actionHook comes during the outage.
    const inMenu = await jambonz.placeCall({
      from: '+15557772001',
      to: '+15550001000',
      presses: [null, '2'],
      voicemail: { talkMs: 1500 },
    });
    const hooksOf = async (callSid: string) => (await jambonz.webhooks()).filter((h) => h.callSid === callSid);
    await eventually('the first caller in the menu', async () => {
      const record = await jambonz.call(inMenu.callSid);
      const hooks = await hooksOf(inMenu.callSid);
      return record.verbs.at(-1) === 'gather' && hooks.every((h) => h.status !== 'pending') ? true : undefined;
    });

    const outage = restartTestServer({ downMs: DOWN_MS, signal: 'SIGKILL' });
    const downAt = Date.now();
    await eventually('Temporal down', async () => ((await temporalAnswers(stack)) ? undefined : true), 10_000, 100);

    // New calls while Temporal is down, on both document carriers.
    // Both new callers hear ringback until their session answers (jambonz's `pause` needs no endpoint, so holding
    // does not answer the call): a caller's usual minute of patience, in real time, since the outage is not
    // scaled. The simulators' default of 60 s would be 15 s at this time scale, shorter than the outage plus the
    // dev server's restart (about 17 s on CI).
    const patientMs = 60_000 / TIME_SCALE;
    const newJambonz = await jambonz.placeCall({
      from: '+15557772002',
      to: '+15550001000',
      presses: ['2'],
      voicemail: { talkMs: 1500 },
      giveUpAfterMs: patientMs,
    });
    const newSignalWire = await stack.signalwire.placeCall({
      from: '+15557772003',
      to: '+15550001000',
      presses: ['2'],
      voicemail: { talkMs: 1500 },
      giveUpAfterMs: patientMs,
    });
    await outage;
    const backAt = Date.now();
    expect(backAt - downAt).toBeGreaterThanOrEqual(DOWN_MS);

    const outcomes = await Promise.all(
      [inMenu.workflowId, newJambonz.workflowId, newSignalWire.workflowId].map((id) => stack.outcome(id)),
    );
    for (const outcome of outcomes) expect(outcome.flowResult).toMatch(VOICEMAIL);

    let statusRetries = 0;
    // jambonz: every hook that wants verbs was answered 200 well inside jambonz's 10 s, none rejected or timed
    // out; those sent during the outage got holding verbs whose redirect carries their events.
    for (const call of [inMenu, newJambonz]) {
      const record = await jambonz.waitForEnd(call.callSid);
      expect(record.heard).toContain(IVR_PROMPTS.voicemail);
      const hooks = await hooksOf(call.callSid);
      const verbHooks = hooks.filter((h) => h.type !== 'call:status');
      for (const hook of verbHooks) {
        expect(hook).toMatchObject({ status: 'answered', httpStatus: 200, attempts: 1 });
        expect(tookMs(hook)).toBeLessThan(DEADLINE_MS + 500);
      }
      // Status hooks (answers ignored by jambonz) got 503 while Temporal was down, at the deadline, never a
      // timeout; their URL asks jambonz to retry, so each reached its session in the end.
      for (const hook of hooks) expect(hook.httpStatus).toBeDefined();
      for (const hook of hooks.filter((h) => h.type === 'call:status'))
        expect(hook).toMatchObject({ status: 'answered', httpStatus: 200 });
      statusRetries += hooks.filter((h) => h.type === 'call:status' && h.attempts > 1).length;
      const duringOutage = verbHooks.filter((h) => Date.parse(h.sentAt) > downAt && Date.parse(h.sentAt) < backAt);
      expect(duringOutage.length).toBeGreaterThan(0);
      const carrying = verbHooks.filter((h) => carriesEvents(h.url));
      expect(carrying.length).toBeGreaterThan(0);
    }
    expect(statusRetries).toBeGreaterThan(0);
    // The new call's call_hook itself was held (not rejected with 480), its session started later.
    const callHook = (await hooksOf(newJambonz.callSid)).find((h) => h.type === 'session:new');
    expect(callHook).toMatchObject({ status: 'answered', httpStatus: 200 });
    expect(holdingRedirect(callHook!)).toBeDefined();
    expect(carriesEvents(holdingRedirect(callHook!)!)).toBe(true);

    // SignalWire: every fetch answered 200 at the first attempt within the deadline; one carried the events.
    await stack.signalwire.waitForEnd(newSignalWire.callId);
    const deliveries = (await stack.signalwire.webhooks()).filter((d) => d.callId === newSignalWire.callId);
    const fetches = deliveries.filter((d) => d.kind === 'swml-fetch');
    for (const fetch of fetches) expect(fetch).toMatchObject({ status: 'delivered', lastStatusCode: 200, attempts: 1 });
    expect(fetches.some((f) => carriesEvents(f.url))).toBe(true);
    expect(deliveries.every((d: SignalWireDelivery) => d.status === 'delivered')).toBe(true);

    // No event lost: each session has its call's first event and applied every event it got.
    for (const id of [inMenu.workflowId, newJambonz.workflowId, newSignalWire.workflowId]) {
      const state: CallState = await stack.state(id);
      expect(state.eventErrors).toEqual([]);
      expect(state.digits).toBe('2');
      expect(state.answeredAt).toBeDefined();
    }
    const started = await stack.state(newJambonz.workflowId);
    expect(started.from).toBe('+15557772002');
    expect(started.direction).toBe('inbound');
  });
});

/** Whether the run's Temporal answers now (a short deadline: the question is asked many times). */
async function temporalAnswers(stack: TestStack): Promise<boolean> {
  try {
    await stack.client.connection.withDeadline(Date.now() + 500, () =>
      stack.client.connection.workflowService.getSystemInfo({}),
    );
    return true;
  } catch {
    return false;
  }
}

/** The redirect of holding verbs (pause, redirect), if that is what the hook was answered with. */
function holdingRedirect(hook: JambonzHookDelivery): string | undefined {
  const verbs = JSON.parse(hook.response ?? '[]') as Array<{ verb?: string; actionHook?: string }>;
  return verbs.length === 2 && verbs[0].verb === 'pause' && verbs[1].verb === 'redirect'
    ? verbs[1].actionHook
    : undefined;
}
