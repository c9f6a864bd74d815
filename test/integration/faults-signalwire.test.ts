import { eventually } from '../support/net';
import { startTestStack, type TestStack } from '../support/stack';

/**
 * SignalWire calls while the worker is away: the gateway holds the call with a holding document (the
 * session cannot answer the document fetch), the call comes back by itself, and once the flow has its next
 * step for an answered call on hold, the session redirects the call (`update`) instead of waiting for the
 * hold to run out.
 */
describe('SignalWire calls while no worker runs', () => {
  let stack: TestStack;
  /** The worker running now (tests kill it and start another). */
  let worker: TestStack['worker'];
  beforeAll(async () => {
    // A dead worker's sessions wait this long on its sticky queue: 10 s (the SDK default) rather than our 1 s, so
    // that a killed worker reliably leaves a fetch to be held, which is the path under test here.
    stack = await startTestStack({ simulate: ['signalwire'], env: { WORKER_STICKY_TIMEOUT_MS: '10000' } });
    worker = stack.worker;
  });
  afterAll(async () => {
    await stack?.close();
  });
  afterEach(() => {
    if (expect.getState().assertionCalls !== expect.getState().numPassingAsserts) console.log(stack.output.join('\n'));
  });

  it('holds a call while no worker runs, and carries on once one is back', async () => {
    await worker.kill();
    const caller = await stack.signalwire.placeCall({
      from: '+15557770005',
      to: '+15550001000',
      presses: ['2'],
      voicemail: { talkMs: 1000 },
      giveUpAfterMs: 240_000,
    });
    // The gateway cannot get the flow's first step: the call rings on a holding document and comes back.
    await eventually(
      'a holding document',
      async () =>
        (await stack.signalwire.webhooks()).filter((w) => w.callId === caller.callId && w.kind === 'swml-fetch')
          .length >= 2,
      20_000,
      200,
    );
    worker = await stack.startWorker('worker-2');
    const outcome = await stack.outcome(caller.workflowId);
    expect(outcome.recordings).toHaveLength(1);
    expect(outcome.digits).toBe('2');
    const sim = await stack.signalwire.waitForEnd(caller.callId);
    expect(sim.recordings).toHaveLength(1);
  });

  it('redirects an answered call on hold as soon as the flow has its next step', async () => {
    const sw = stack.signalwire;
    const caller = await sw.placeCall({
      from: '+15557770006',
      to: '+15550001000',
      presses: ['2'],
      voicemail: { talkMs: 1000 },
    });
    // While the menu plays, the worker dies. A new one starts at once, but the session's next workflow task
    // waits on the dead worker's sticky queue (10 s, set above) first, so the menu's hand-back gets a holding document
    // (answered: a sleep, 7.5 s here) from the gateway after its 6 s, and the flow's next step comes while
    // the call sleeps.
    await eventually(
      'the menu',
      async () => (await stack.state(caller.workflowId)).currentOperation === 'gather',
      20_000,
      50,
    );
    await worker.kill();
    worker = await stack.startWorker('worker-3');
    const outcome = await stack.outcome(caller.workflowId);
    expect(outcome.digits).toBe('2');
    expect(outcome.recordings).toHaveLength(1);
    // The session did not wait for the hold to run out: it redirected the call (`update` with its document URL).
    const updates = (await sw.commands()).filter((c) => c.command === 'update' && c.callId === caller.callId);
    expect(updates).toEqual([expect.objectContaining({ status: 200 })]);
    expect((updates[0].body as { params: { url: string } }).params.url).toContain('/webhooks/signalwire/swml?wf=');
  });
});
