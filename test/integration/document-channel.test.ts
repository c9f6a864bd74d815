import {
  deliveryControlId,
  nextDocumentUpdate,
  type CallCommand,
  type DocumentReply,
  type DocumentRequest,
} from '../../src/calls';
import { IVR_PROMPTS } from '../../workflows/flows/default-ivr';
import { documentOpsOf } from '../../src/providers/carriers';
import { useFakeCarrier, type FakeCarrierCall } from '../support/fake-carrier';
import { eventually } from '../support/net';

/**
 * The document-carrier protocol of a real session, without a gateway or a carrier: the test plays the
 * carrier (`nextDocument` updates and `callEvent` signals) against a worker whose activities are fakes, on
 * the run's dev server. It drives the cases the end-to-end callers hit only by timing: a redirect while the
 * carrier holds the call, and a hold running out just before the redirect's own fetch arrives.
 */

const CALL_ID = 'sw-call-1';

describe('document channel (session with fake activities)', () => {
  const carrier = useFakeCarrier();

  type DocumentCall = FakeCarrierCall & { fetch: (request: Partial<DocumentRequest>) => Promise<DocumentReply> };

  /** A SignalWire session whose carrier is the test: REST commands are logged, the call is always up. */
  const withSession = (test: (call: DocumentCall) => Promise<void>) =>
    carrier.withSession(
      {
        provider: 'signalwire',
        direction: 'inbound',
        flow: 'defaultIvr',
        from: '+15557770001',
        to: '+15550001000',
        callId: CALL_ID,
        documentOps: documentOpsOf('signalwire'),
      },
      { fetchCallStatus: async () => ({ alive: true }) },
      (call) =>
        test({
          ...call,
          fetch: (request) =>
            call.handle.executeUpdate(nextDocumentUpdate, { args: [{ events: [], waitMs: 5000, ...request }] }),
        }),
    );

  const commandsOf = (reply: DocumentReply): CallCommand[] => {
    expect(reply.kind).toBe('commands');
    return reply.kind === 'commands' ? reply.commands : [];
  };

  /**
   * Answers the call, takes the first menu gather, then lets the carrier's fetch come back empty (a holding
   * document). The gather then times out, so the flow asks again while the carrier holds: the session must
   * redirect. Returns the second gather's command key and the redirect the session sent.
   */
  async function menuAskedAgainWhileHolding(call: DocumentCall) {
    const [answer] = commandsOf(await call.fetch({}));
    expect(answer.op).toBe('answer');
    await call.signal({ kind: 'call.answered' });
    const [firstGather] = commandsOf(await call.fetch({ handedBack: answer.commandKey }));
    expect(firstGather.op).toBe('gather');
    // A fetch the session cannot answer in time is a hold; nothing is waiting now, so the carrier is holding.
    expect(await call.fetch({ waitMs: 0 })).toEqual({ kind: 'hold' });
    expect(call.sent).toEqual([]);

    await call.signal({ kind: 'gather.ended', reason: 'timeout', digits: '', controlId: firstGather.commandKey });
    const redirect = await eventually('the session to redirect the holding carrier', () =>
      call.sent.find((c) => c.op === 'redirect'),
    );
    expect(redirect.callId).toBe(CALL_ID);
    return { firstGather, redirect };
  }

  it('redirects a holding carrier and hands the waiting command to the redirect’s fetch', async () => {
    await withSession(async (call) => {
      const { firstGather, redirect } = await menuAskedAgainWhileHolding(call);
      const commands = commandsOf(await call.fetch({ redirectedBy: redirect.commandKey }));
      expect(commands.map((c) => c.op)).toEqual(['gather']);
      expect(commands[0].commandKey).not.toBe(firstGather.commandKey);
      expect(call.sent.filter((c) => c.op === 'redirect')).toHaveLength(1);
    });
  });

  it('queues again what a hold’s fetch took just before the redirect cut it short', async () => {
    await withSession(async (call) => {
      const { redirect } = await menuAskedAgainWhileHolding(call);
      // The hold ran out and its fetch came first: it takes the gather, which the redirect then cuts short.
      const [taken] = commandsOf(await call.fetch({}));
      expect(taken.op).toBe('gather');
      const [again] = commandsOf(await call.fetch({ redirectedBy: redirect.commandKey }));
      expect(again.commandKey).toBe(taken.commandKey);
      // Not a third time: the redirect is answered, so later fetches find the outbox empty.
      expect(await call.fetch({ waitMs: 0 })).toEqual({ kind: 'hold' });
    });
  });

  it('takes the outcome of the copy delivered again, not the late report of the copy the redirect killed', async () => {
    await withSession(async (call) => {
      const { redirect } = await menuAskedAgainWhileHolding(call);
      const [taken] = commandsOf(await call.fetch({}));
      const [again] = commandsOf(await call.fetch({ redirectedBy: redirect.commandKey }));
      expect(again.delivery).toBe(1);
      // The killed copy reports after all (jambonz sends a replaced verb's actionHook): "9", under its own id.
      await call.signal({ kind: 'gather.ended', reason: 'complete', digits: '9', controlId: taken.commandKey });
      // Its hook is answered "carry on" at once: any verbs (a hold) would replace the copy that runs, which
      // would then never report (the chaos run held such a caller for two minutes and lost its voicemail).
      const stale = await call.fetch({ handedBack: taken.commandKey, waitMs: 500 });
      expect(stale).toEqual({ kind: 'continue' });
      // The copy that runs reports "2" (voicemail) under its delivery's id: that is the choice the flow acts on.
      const deliveredId = deliveryControlId(again.commandKey, again.delivery);
      await call.signal({ kind: 'gather.ended', reason: 'complete', digits: '2', controlId: deliveredId });
      const next = commandsOf(await call.fetch({ handedBack: deliveredId }));
      expect(next.map((c) => c.op)).toEqual(['say']);
      expect(next[0]).toMatchObject({ text: IVR_PROMPTS.voicemail });
    });
  });

  it('does not queue again a step the carrier handed back before the redirect’s fetch', async () => {
    await withSession(async (call) => {
      const { redirect } = await menuAskedAgainWhileHolding(call);
      const [taken] = commandsOf(await call.fetch({}));
      // The gather ran and came back with its result before the redirect's fetch: nothing is cut short.
      await call.signal({ kind: 'gather.ended', reason: 'complete', digits: '9', controlId: taken.commandKey });
      const reply = await call.fetch({ redirectedBy: redirect.commandKey, handedBack: taken.commandKey });
      // The flow asks a third time (9 is not a choice); the cut-short gather is not among the commands.
      expect(commandsOf(reply).map((c) => c.commandKey)).not.toContain(taken.commandKey);
    });
  });
});
