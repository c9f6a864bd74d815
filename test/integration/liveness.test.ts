import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import {
  CALL_SESSION_WORKFLOW,
  callEventSignal,
  type CallEvent,
  type CallOutcome,
  type CallSessionInput,
} from '../../src/calls';
import type { SendCommandInput } from '../../activities';
import { eventually } from '../support/net';
import { testWorkflowBundle } from '../support/stack';
import { testServerAddress } from '../support/temporal-server';

/**
 * Liveness: a session whose hang-up webhook is lost must still end. The test plays Telnyx (signals) against
 * a worker whose activities are fakes, on the run's dev server, with the watchdog's quiet intervals shortened.
 */

const CALL_ID = 'v3:liveness-call';

describe('session liveness (fake activities)', () => {
  let workflowBundlePath: string;
  let nativeConnection: NativeConnection;
  let connection: Connection;
  let client: Client;
  beforeAll(async () => {
    try {
      Runtime.install({ logger: new DefaultLogger('WARN') });
    } catch {
      // already installed in this process
    }
    workflowBundlePath = await testWorkflowBundle();
    nativeConnection = await NativeConnection.connect({ address: testServerAddress() });
    connection = await Connection.connect({ address: testServerAddress() });
    client = new Client({ connection });
  });
  afterAll(async () => {
    await nativeConnection?.close();
    await connection?.close();
  });

  /** A Telnyx carrier that accepts every command and answers status requests from `callIsUp`. */
  async function runCall(
    liveness: CallSessionInput['liveness'],
    play: (call: {
      workflowId: string;
      sent: SendCommandInput[];
      probes: () => number;
      hangUpSilently: () => void;
      signal: (event: Record<string, unknown> & { kind: CallEvent['kind'] }) => Promise<void>;
    }) => Promise<void>,
  ): Promise<void> {
    const taskQueue = `liveness-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;
    const sent: SendCommandInput[] = [];
    let callIsUp = true;
    let probes = 0;
    const worker = await Worker.create({
      connection: nativeConnection,
      taskQueue,
      workflowBundle: { codePath: workflowBundlePath },
      activities: {
        sendCallCommand: async (input: SendCommandInput) => {
          sent.push(input);
        },
        fetchCallStatus: async () => {
          probes++;
          return { alive: callIsUp };
        },
      },
    });
    await worker.runUntil(async () => {
      const workflowId = `${taskQueue}-call`;
      const handle = await client.workflow.start(CALL_SESSION_WORKFLOW, {
        taskQueue,
        workflowId,
        args: [
          {
            provider: 'telnyx',
            direction: 'inbound',
            flow: 'defaultIvr',
            from: '+15557770001',
            to: '+15550001000',
            callId: CALL_ID,
            liveness,
          } satisfies CallSessionInput,
        ],
      });
      let eventNumber = 0;
      try {
        await play({
          workflowId,
          sent,
          probes: () => probes,
          hangUpSilently: () => {
            callIsUp = false;
          },
          signal: (event) =>
            handle.signal(callEventSignal, {
              provider: 'telnyx',
              eventId: `${workflowId}-event-${++eventNumber}`,
              callId: CALL_ID,
              occurredAt: new Date().toISOString(),
              ...event,
            } as CallEvent),
        });
      } finally {
        await handle.terminate('test over').catch(() => undefined);
      }
    });
  }

  it('ends a session whose hang-up webhook was lost, within the quiet interval, by asking the carrier', async () => {
    await runCall({ firstQuietMs: 500, maxQuietMs: 2000 }, async (call) => {
      await eventually('answer sent', async () => call.sent.some((c) => c.op === 'answer'));
      await call.signal({ kind: 'call.answered' });
      await eventually('menu sent', async () => call.sent.some((c) => c.op === 'gather'));
      // The caller hangs up; Telnyx's call.hangup webhook never arrives.
      call.hangUpSilently();
      const hungUpAt = Date.now();
      const outcome = (await client.workflow.getHandle(call.workflowId).result()) as CallOutcome;
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
      // Then quiet for 3 s: probes at +0.4, +0.8 (doubling: 0.4, 0.8, 1.6 s apart), so 2 or 3, not 7.
      await new Promise((resolve) => setTimeout(resolve, 3000));
      expect(call.probes()).toBeGreaterThanOrEqual(2);
      expect(call.probes()).toBeLessThanOrEqual(3);
    });
  });
});
