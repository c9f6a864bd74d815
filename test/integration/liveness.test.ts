import type { CallOutcome, CallSessionInput } from '../../src/calls';
import { useFakeCarrier, type FakeCarrierCall } from '../support/fake-carrier';
import { eventually } from '../support/net';

/**
 * Liveness: a session whose hang-up webhook is lost must still end. The test plays Telnyx (signals) against
 * a worker whose activities are fakes, on the run's dev server, with the watchdog's quiet intervals shortened.
 */

describe('session liveness (fake activities)', () => {
  const carrier = useFakeCarrier();

  type LivenessCall = FakeCarrierCall & { probes: () => number; hangUpSilently: () => void };

  /** A Telnyx call that accepts every command and answers status requests from `callIsUp`. */
  async function runCall(liveness: CallSessionInput['liveness'], play: (call: LivenessCall) => Promise<void>) {
    let callIsUp = true;
    let probes = 0;
    await carrier.withSession(
      {
        provider: 'telnyx',
        direction: 'inbound',
        flow: 'defaultIvr',
        from: '+15557770001',
        to: '+15550001000',
        callId: 'v3:liveness-call',
        liveness,
      },
      {
        fetchCallStatus: async () => {
          probes++;
          return { alive: callIsUp };
        },
      },
      (call) =>
        play({
          ...call,
          probes: () => probes,
          hangUpSilently: () => {
            callIsUp = false;
          },
        }),
    );
  }

  it('ends a session whose hang-up webhook was lost, within the quiet interval, by asking the carrier', async () => {
    await runCall({ firstQuietMs: 500, maxQuietMs: 2000 }, async (call) => {
      await eventually('answer sent', async () => call.sent.some((c) => c.op === 'answer'));
      await call.signal({ kind: 'call.answered' });
      await eventually('menu sent', async () => call.sent.some((c) => c.op === 'gather'));
      // The caller hangs up; Telnyx's call.hangup webhook never arrives.
      call.hangUpSilently();
      const hungUpAt = Date.now();
      const outcome = (await call.handle.result()) as CallOutcome;
      expect(outcome).toMatchObject({ endCause: 'gone', flowResult: 'call ended (gone) during gather' });
      // The quiet interval backs off to at most 2 s; the probe itself and a workflow task add a little.
      expect(Date.now() - hungUpAt).toBeLessThan(6000);
      // Nothing was sent to the call after it was found gone.
      expect(call.sent.filter((c) => c.op !== 'answer' && c.op !== 'gather')).toEqual([]);
    });
  });

  it('does not ask about a call that keeps talking, and backs off while it is quiet', async () => {
    await runCall({ firstQuietMs: 400, maxQuietMs: 3200 }, async (call) => {
      await eventually('answer sent', async () => call.sent.some((c) => c.op === 'answer'));
      await call.signal({ kind: 'call.answered' });
      await eventually('menu sent', async () => call.sent.some((c) => c.op === 'gather'));
      // Events every 150 ms for 2 s: the call is clearly up, so the watchdog asks nothing.
      for (let i = 0; i < 13; i++) {
        await call.signal({ kind: 'playback.started' });
        await new Promise((resolve) => setTimeout(resolve, 150));
      }
      expect(call.probes()).toBe(0);
      // Then quiet for 4 s: probes at +0.4, +1.2, +2.8 (0.4, 0.8, 1.6 s apart, the next at +6), so 2 or 3 (a
      // loaded machine delays them), not the 10 a fixed interval would make.
      await new Promise((resolve) => setTimeout(resolve, 4000));
      expect(call.probes()).toBeGreaterThanOrEqual(2);
      expect(call.probes()).toBeLessThanOrEqual(3);
    });
  });

  it('keeps a voicemail whose record command was still reporting back when the caller hung up', async () => {
    // A worker crash mid-command: the carrier started recording on the first attempt, the caller spoke and hung
    // up, and the activity's retry is still out when the hang-up and then the recording arrive.
    const sent: string[] = []; // command keys, in order: answer, menu, prompt, record
    let releaseRecordStart!: () => void;
    const recordStartHeld = new Promise<void>((resolve) => (releaseRecordStart = resolve));
    await carrier.withSession(
      {
        provider: 'telnyx',
        direction: 'inbound',
        flow: 'defaultIvr',
        from: '+15557770002',
        to: '+15550001000',
        callId: 'v3:voicemail-race',
      },
      {
        sendCallCommand: async (command) => {
          sent.push(command.commandKey);
          if (command.op === 'recordStart') await recordStartHeld;
        },
      },
      async (call) => {
        await eventually('answer sent', async () => sent.length >= 1);
        await call.signal({ kind: 'call.answered', controlId: sent[0] });
        await eventually('menu sent', async () => sent.length >= 2);
        await call.signal({ kind: 'gather.ended', reason: 'complete', digits: '2', controlId: sent[1] });
        await eventually('voicemail prompt sent', async () => sent.length >= 3);
        await call.signal({ kind: 'speak.ended', status: 'completed', controlId: sent[2] });
        await eventually('record command out', async () => sent.length >= 4);
        await call.signal({ kind: 'call.ended', cause: 'normal', source: 'caller' });
        await call.signal({ kind: 'recording.saved', url: 'https://recordings.test/vm.wav', controlId: sent[3] });
        const outcome = (await call.handle.result()) as CallOutcome;
        releaseRecordStart();
        expect(outcome.flowResult).toBe('pressed 2, voicemail saved at https://recordings.test/vm.wav');
      },
    );
  });
});
