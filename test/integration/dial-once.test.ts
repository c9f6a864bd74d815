import Fastify, { type FastifyInstance } from 'fastify';
import { Client, Connection } from '@temporalio/client';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { createActivities, type PlaceFaxCallInput } from '../../activities';
import { ErrorType } from '../../src/calls';
import { CARRIERS } from '../../src/providers/carriers';
import { testWorkflowBundle } from '../support/stack';
import { testServerAddress } from '../support/temporal-server';
import { eventually } from '../support/net';

/**
 * SignalWire's `dial` has no idempotency key, so the dial activity repeats a request only after an attempt that
 * certainly placed nothing (a 503). Here attempt 1 gets that 503, attempt 2 places the fax call and then loses
 * its completion (as when Temporal is down and the worker is killed before it reports), and attempt 3 must not
 * dial again: it ends `DialOutcomeUnknown` and the fax workflow waits for the call's events instead. A real fax
 * workflow on the run's dev server, the real activity and HTTP client, a loopback carrier that counts dials.
 */

const PROJECT = 'project-dial-once';
const TOKEN = 'token-dial-once';

describe('a dial whose completion was lost is not repeated', () => {
  let carrier: FastifyInstance;
  let carrierUrl: string;
  const dials: number[] = [];
  let nativeConnection: NativeConnection;
  let connection: Connection;
  let client: Client;

  beforeAll(async () => {
    try {
      Runtime.install({ logger: new DefaultLogger('WARN') });
    } catch {
      // already installed in this process
    }
    carrier = Fastify();
    carrier.post('/api/calling/calls', async (request, reply) => {
      dials.push(Date.now());
      const body = request.body as { command?: string };
      if (body.command !== 'dial') return reply.code(400).send({ error: 'not a dial' });
      // The first dial is refused before anything is placed; every later one places a call.
      if (dials.length === 1) return reply.code(503).send({ errors: [{ detail: 'try again' }] });
      return reply.code(200).send({ id: `fax-call-${dials.length}`, status: 'queued' });
    });
    carrierUrl = await carrier.listen({ port: 0, host: '127.0.0.1' });
    nativeConnection = await NativeConnection.connect({ address: testServerAddress() });
    connection = await Connection.connect({ address: testServerAddress() });
    client = new Client({ connection });
  });
  afterAll(async () => {
    await carrier?.close();
    await nativeConnection?.close();
    await connection?.close();
  });

  it('gives up with DialOutcomeUnknown on the attempt after the one that placed the call', async () => {
    const signalwire = CARRIERS.signalwire.createClient(
      {
        apiBaseUrl: carrierUrl,
        projectId: PROJECT,
        apiToken: TOKEN,
        signingKey: 'signing-key-dial-once',
        documentWaitMs: 1000,
        fetchDeadlineMs: 5000,
      },
      { publicBaseUrl: 'http://127.0.0.1:9', dataDir: '.data' },
    );
    const activities = createActivities({ carriers: { signalwire } });
    const taskQueue = `dial-once-${Date.now()}`;
    const worker = await Worker.create({
      connection: nativeConnection,
      taskQueue,
      workflowBundle: { codePath: await testWorkflowBundle() },
      activities: {
        ...activities,
        async placeFaxCall(input: PlaceFaxCallInput) {
          const placed = await activities.placeFaxCall(input);
          // Attempt 2 placed the call; its completion never reaches Temporal (no heartbeat of its own either).
          if (Context.current().info.attempt === 2)
            throw ApplicationFailure.retryable('the worker died before it reported the dial', 'WorkerLost');
          return placed;
        },
      },
    });

    await worker.runUntil(async () => {
      const handle = await client.workflow.start('sendFaxWorkflow', {
        taskQueue,
        workflowId: `fax:dial-once-${Date.now()}`,
        args: [
          {
            provider: 'signalwire',
            to: '+15550900999',
            from: '+15550001000',
            documentUrl: 'http://127.0.0.1:9/doc.pdf',
            maxAttempts: 1,
          },
        ],
      });
      try {
        const failure = await eventually(
          'the dial activity ended',
          async () => {
            for (const event of (await handle.fetchHistory()).events ?? []) {
              const failed = event.activityTaskFailedEventAttributes?.failure;
              if (failed) return failed;
            }
            return undefined;
          },
          30_000,
        );
        expect(failure.applicationFailureInfo?.type).toBe(ErrorType.DialOutcomeUnknown);
        // One refused dial and the one that placed the call: the third attempt asked nothing.
        expect(dials).toHaveLength(2);
        const scheduled = (await handle.fetchHistory()).events?.find((e) => e.activityTaskStartedEventAttributes);
        expect(scheduled?.activityTaskStartedEventAttributes?.attempt).toBe(3);
      } finally {
        await handle.terminate('test over');
      }
    });
  });
});
