import { ApplicationFailure } from '@temporalio/common';
import type { CallOutcome, CallState } from '../../src/calls';
import { controlUpdate, ErrorType, stateQuery } from '../../src/calls';
import type { SendCommandInput } from '../../activities';
import { useFakeCarrier, type FakeCarrierCall } from '../support/fake-carrier';
import { eventually } from '../support/net';

/**
 * A command the carrier refuses because the call has ended (Telnyx 422 "call has already ended"): the session
 * waits a moment for the call's own hangup webhook, which tells how the call ended, before it settles for
 * "the carrier says the call is gone". Each leg's webhooks travel separately, so the refusal often comes first.
 */
describe('a command refused as "call gone" (fake activities)', () => {
  const carrier = useFakeCarrier();

  /** A Telnyx call whose menu gather is refused as gone; the rest of its commands are accepted. */
  const goneAtTheMenu = (play: Parameters<typeof carrier.withSession>[2]) =>
    carrier.withSession(
      {
        provider: 'telnyx',
        direction: 'inbound',
        flow: 'defaultIvr',
        from: '+15557770001',
        to: '+15550001000',
        callId: 'v3:gone-call',
      },
      {
        sendCallCommand: async (command: SendCommandInput) => {
          if (command.op === 'gather')
            throw ApplicationFailure.create({
              type: ErrorType.CallGone,
              message: 'call is gone: telnyx gather_using_speak: HTTP 422 code 90018 (Call has already ended)',
              nonRetryable: true,
            });
        },
        fetchCallStatus: async () => ({ alive: true }),
      },
      play,
    );

  /** The session asked to answer; the carrier says it did. */
  async function answered(call: FakeCarrierCall): Promise<void> {
    await eventually('the answer sent', async () => {
      const state = await call.handle.query<CallState>(stateQuery);
      return state.operations.some((o) => o.op === 'answer') ? true : undefined;
    });
    await call.signal({ kind: 'call.answered' });
  }

  it('tells the end from the hangup webhook that comes after the refusal', async () => {
    await goneAtTheMenu(async (call) => {
      await answered(call);
      // The gather has been refused by now (the session is waiting for the webhook); the hangup arrives 1 s later.
      await eventually('the gather refused', async () => {
        const state = await call.handle.query<CallState>(stateQuery);
        return state.operations.some((o) => o.op === 'gather') ? true : undefined;
      });
      await new Promise((resolve) => setTimeout(resolve, 1000));
      await call.signal({ kind: 'call.ended', cause: 'normal', source: 'caller' });
      const outcome = (await call.handle.result()) as CallOutcome;
      expect(outcome.endCause).toBe('normal');
      const state = await call.handle.query<CallState>(stateQuery);
      expect(state.timeline.map((entry) => entry.text)).toContain('caller hung up');
    });
  });

  it('ends as gone when no hangup webhook comes', async () => {
    await goneAtTheMenu(async (call) => {
      await answered(call);
      const startedAt = Date.now();
      const outcome = (await call.handle.result()) as CallOutcome;
      expect(outcome.endCause).toBe('gone');
      // It waited for the webhook (5 s), then gave up: bounded, not for ever.
      expect(Date.now() - startedAt).toBeGreaterThanOrEqual(4000);
      expect(Date.now() - startedAt).toBeLessThan(15_000);
    });
  });

  it('tells a caller who hangs up while our hangup is on its way as the caller hanging up', async () => {
    // Our hangup reaches Telnyx only after the caller's own: Telnyx refuses it as gone, and its call.hangup
    // (hangup_source caller) arrives while our command is still pending.
    let hangupSent = false;
    let callerHungUp!: () => void;
    const afterTheCaller = new Promise<void>((resolve) => (callerHungUp = resolve));
    await carrier.withSession(
      {
        provider: 'telnyx',
        direction: 'inbound',
        flow: 'defaultIvr',
        from: '+15557770002',
        to: '+15550001000',
        callId: 'v3:raced-hangup',
      },
      {
        sendCallCommand: async (command: SendCommandInput) => {
          if (command.op !== 'hangup') return;
          hangupSent = true;
          await afterTheCaller;
          throw ApplicationFailure.create({
            type: ErrorType.CallGone,
            message: 'call is gone: telnyx hangup: HTTP 422 code 90018 (Call has already ended)',
            nonRetryable: true,
          });
        },
        fetchCallStatus: async () => ({ alive: true }),
      },
      async (call) => {
        await answered(call);
        const hangup = call.handle.executeUpdate(controlUpdate, {
          args: [{ request: { action: 'hangup' }, carrier: 'telnyx', route: { route: 'command' } }],
        });
        await eventually('our hangup sent', async () => (hangupSent ? true : undefined));
        await call.signal({ kind: 'call.ended', cause: 'normal', source: 'caller' });
        callerHungUp();
        // The hangup control still answers as done: the call has ended.
        expect(await hangup).toMatchObject({ outcome: 'ended' });
        const outcome = (await call.handle.result()) as CallOutcome;
        expect(outcome.endCause).toBe('normal');
        const state = await call.handle.query<CallState>(stateQuery);
        expect(state.endedBy).toBe('remote');
        expect(state.timeline.map((entry) => entry.text)).toContain('caller hung up');
      },
    );
  });
});
