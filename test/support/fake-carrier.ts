import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { CALL_SESSION_WORKFLOW, callEventSignal, type CallEvent, type CallSessionInput } from '../../src/calls';
import type { CallActivities, SendCommandInput } from '../../activities';
import { testWorkflowBundle } from './stack';
import { testServerAddress } from './temporal-server';

/**
 * A real call session on the run's dev server with fake activities in place of the carrier: the test plays
 * the carrier (signals, updates) and reads what the session sent. For protocol cases the end-to-end callers
 * hit only by timing. Call `useFakeCarrier()` inside a `describe`: it connects once for the file.
 */

export interface FakeCarrierCall {
  handle: WorkflowHandle;
  workflowId: string;
  /** The REST commands the session sent, in order. */
  sent: SendCommandInput[];
  /** Signals a carrier event on the session's call (the event id and time are filled in). */
  signal(event: Record<string, unknown> & { kind: CallEvent['kind'] }): Promise<void>;
}

export function useFakeCarrier() {
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

  return {
    get client(): Client {
      return client;
    },
    /**
     * Runs `test` against a session started with `input` on a worker of its own, whose `sendCallCommand` logs
     * and whose other activities are `activities`; the session is terminated afterwards.
     */
    async withSession(
      input: CallSessionInput & { callId: string },
      activities: Partial<CallActivities>,
      test: (call: FakeCarrierCall) => Promise<void>,
    ): Promise<void> {
      const taskQueue = `fake-carrier-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;
      const sent: SendCommandInput[] = [];
      const worker = await Worker.create({
        connection: nativeConnection,
        taskQueue,
        workflowBundle: { codePath: workflowBundlePath },
        activities: {
          sendCallCommand: async (command: SendCommandInput) => {
            sent.push(command);
          },
          ...activities,
        },
      });
      await worker.runUntil(async () => {
        const workflowId = `${taskQueue}-call`;
        const handle = await client.workflow.start(CALL_SESSION_WORKFLOW, { taskQueue, workflowId, args: [input] });
        let eventNumber = 0;
        try {
          await test({
            handle,
            workflowId,
            sent,
            signal: (event) =>
              handle.signal(callEventSignal, {
                provider: input.provider,
                eventId: `${workflowId}-event-${++eventNumber}`,
                callId: input.callId,
                occurredAt: new Date().toISOString(),
                ...event,
              } as CallEvent),
          });
        } finally {
          await handle.terminate('test over').catch(() => undefined);
        }
      });
    },
  };
}
