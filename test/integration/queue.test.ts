import { Client, Connection, WithStartWorkflowOperation } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import {
  CALL_QUEUE_WORKFLOW,
  CALL_SESSION_WORKFLOW,
  agentCallEndedSignal,
  agentUpdate,
  configureQueueUpdate,
  joinQueueUpdate,
  offerResultSignal,
  queuePositionQuery,
  queueStateQuery,
  queueWorkflowStart,
  requestCallbackSignal,
  type CallSessionInput,
  type JoinQueueResult,
  type QueueConfig,
  type QueueNotice,
  type QueueView,
} from '../../src/calls';
import { eventually } from '../support/net';
import { testWorkflowBundle } from '../support/stack';
import { testServerAddress } from '../support/temporal-server';

/**
 * The queue workflow on the run's real dev server, on a worker of its own. The test plays the callers'
 * sessions and the people running the queue: it joins with update-with-start, reports offers with the
 * sessions' signals and reads the queue by query. The callers are real `callSessionWorkflow` executions
 * started on a task queue no worker polls, so they never run, but every signal the queue sends them is in
 * their history, where the test reads it.
 */

const IDLE_TASK_QUEUE = 'queue-test-callers-nobody-polls';

describe('call queue workflow', () => {
  let bundlePath: string;
  let nativeConnection: NativeConnection;
  let connection: Connection;
  let client: Client;
  const started: string[] = [];

  beforeAll(async () => {
    try {
      Runtime.install({ logger: new DefaultLogger('WARN') });
    } catch {
      // already installed in this process
    }
    bundlePath = await testWorkflowBundle();
    nativeConnection = await NativeConnection.connect({ address: testServerAddress() });
    connection = await Connection.connect({ address: testServerAddress() });
    client = new Client({ connection });
  });
  afterAll(async () => {
    for (const id of started)
      await client.workflow
        .getHandle(id)
        .terminate('test over')
        .catch(() => undefined);
    await nativeConnection?.close();
    await connection?.close();
  });

  const unique = () => `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;

  function newWorker(taskQueue: string): Promise<Worker> {
    return Worker.create({
      connection: nativeConnection,
      taskQueue,
      workflowBundle: { codePath: bundlePath },
      // Callback sessions the queue starts run here too, but with no activities they cannot place the call:
      // nobody is called (queue-telnyx.test.ts and queue-documents.test.ts run real ones).
      activities: {},
    });
  }

  /** A caller's session that never runs: its history collects what the queue signals it. */
  async function standInCaller(name: string): Promise<string> {
    const workflowId = `call:telnyx:${name}-${unique()}`;
    const input: CallSessionInput = {
      provider: 'telnyx',
      direction: 'inbound',
      flow: 'defaultIvr',
      from: '+15557770001',
      to: '+15550001000',
      callId: workflowId,
    };
    await client.workflow.start(CALL_SESSION_WORKFLOW, { workflowId, taskQueue: IDLE_TASK_QUEUE, args: [input] });
    started.push(workflowId);
    return workflowId;
  }

  /** The queue notices a session has received, in order. */
  async function noticesTo(workflowId: string): Promise<QueueNotice[]> {
    const history = await client.workflow.getHandle(workflowId).fetchHistory();
    return (history.events ?? []).flatMap((event) => {
      const signal = event.workflowExecutionSignaledEventAttributes;
      if (signal?.signalName !== 'queueNotice') return [];
      const data = signal.input?.payloads?.[0]?.data;
      return data ? [JSON.parse(Buffer.from(data).toString('utf8')) as QueueNotice] : [];
    });
  }

  function queueClient(name: string, config: Partial<QueueConfig>, taskQueue: string, historyLimit?: number) {
    const start = queueWorkflowStart(name, config);
    const handle = client.workflow.getHandle(start.workflowId);
    started.push(start.workflowId);
    return {
      handle,
      join: (sessionWorkflowId: string, opts: { priority?: number } = {}): Promise<JoinQueueResult> =>
        client.workflow.executeUpdateWithStart(joinQueueUpdate, {
          args: [{ requestId: `${sessionWorkflowId}#1`, sessionWorkflowId, ...opts }],
          startWorkflowOperation: new WithStartWorkflowOperation(CALL_QUEUE_WORKFLOW, {
            workflowId: start.workflowId,
            taskQueue,
            args: [{ ...start.args[0], ...(historyLimit ? { continueAsNewAtHistoryLength: historyLimit } : {}) }],
            staticSummary: start.staticSummary,
            workflowIdConflictPolicy: 'USE_EXISTING',
          }),
        }),
      signIn: (agentId: string) =>
        handle.executeUpdate(agentUpdate, { args: [{ op: 'sign-in', agentId, address: '+15550002000' }] }),
      state: (): Promise<QueueView> => handle.query(queueStateQuery, { now: Date.now() }),
    };
  }

  it('offers the head caller an agent by signal; a miss keeps their place; wrap-up ends on a durable timer', async () => {
    const taskQueue = `queue-test-${unique()}`;
    const worker = await newWorker(taskQueue);
    await worker.runUntil(async () => {
      const queue = queueClient(`support-${unique()}`, { agentRingTimeoutSeconds: 5, wrapUpSeconds: 1 }, taskQueue);
      const first = await standInCaller('first');
      const second = await standInCaller('second');

      await expect(queue.join(first)).resolves.toMatchObject({ kind: 'joined', ticket: `${first}#1`, position: 1 });
      await expect(queue.join(second)).resolves.toMatchObject({ kind: 'joined', position: 2 });
      // A retried join (same request id) is the same ticket, not a second place.
      await expect(queue.join(second)).resolves.toMatchObject({ kind: 'joined', position: 2 });
      await queue.signIn('alice');

      const [offer] = await eventually('an offer to the first caller', async () => {
        const notices = await noticesTo(first);
        return notices.length ? notices : undefined;
      });
      expect(offer).toMatchObject({ kind: 'offer', agents: [{ agentId: 'alice', address: '+15550002000' }] });
      if (offer.kind !== 'offer') return;
      expect(await noticesTo(second)).toEqual([]);

      // alice misses: the first caller keeps the head and is offered again.
      await queue.handle.signal(offerResultSignal, {
        ticket: offer.ticket,
        offerId: offer.offerId,
        outcome: 'no-answer',
      });
      const again = await eventually('a second offer', async () => (await noticesTo(first))[1]);
      expect(again).toMatchObject({ kind: 'offer', ticket: offer.ticket });
      if (again.kind !== 'offer') return;
      expect(again.offerId).not.toBe(offer.offerId);
      expect(await queue.handle.query(queuePositionQuery, { ticket: offer.ticket })).toMatchObject({
        position: 1,
        status: 'offered',
      });
      expect((await queue.state()).agents[0]).toMatchObject({ id: 'alice', state: 'offered', consecutiveMisses: 1 });

      await queue.handle.signal(offerResultSignal, {
        ticket: again.ticket,
        offerId: again.offerId,
        outcome: 'answered',
        agentId: 'alice',
      });
      const second1 = await eventually('the second caller at the head', async () => {
        const place = await queue.handle.query(queuePositionQuery, { ticket: `${second}#1` });
        return place.position === 1 ? place : undefined;
      });
      // alice is busy with a call just answered: the default handle time plus wrap-up.
      expect(second1.estimatedWaitSeconds).toBeGreaterThan(170);

      await queue.handle.signal(agentCallEndedSignal, {
        ticket: again.ticket,
        offerId: again.offerId,
        agentId: 'alice',
      });
      // Wrap-up (1 s) ends on the queue's timer, then the second caller is offered alice.
      const toSecond = await eventually(
        'an offer to the second caller after wrap-up',
        async () => (await noticesTo(second))[0],
      );
      expect(toSecond).toMatchObject({ kind: 'offer', agents: [{ agentId: 'alice' }] });
      const state = await queue.state();
      expect(state.stats).toMatchObject({
        offered: 2,
        answered: 1,
        missedOffers: 1,
        averageHandleSeconds: expect.any(Number),
      });
      expect(state.agents[0]).toMatchObject({ callsHandled: 1, state: 'offered' });
      expect(await queue.handle.describe()).toMatchObject({ type: CALL_QUEUE_WORKFLOW, status: { name: 'RUNNING' } });
    });
  });

  it('overflows a caller after the max wait, and drops a caller whose session cannot be signalled', async () => {
    const taskQueue = `queue-test-${unique()}`;
    const worker = await newWorker(taskQueue);
    await worker.runUntil(async () => {
      const queue = queueClient(
        `overflow-${unique()}`,
        { maxWaitSeconds: 2, overflow: { kind: 'voicemail' } },
        taskQueue,
      );
      const patient = await standInCaller('patient');
      await queue.join(patient);
      const [overflow] = await eventually('the overflow notice', async () => {
        const notices = await noticesTo(patient);
        return notices.length ? notices : undefined;
      });
      expect(overflow).toMatchObject({ kind: 'overflow', reason: 'max-wait', target: { kind: 'voicemail' } });

      // A ticket whose session does not exist: the offer cannot be delivered, so the caller is gone.
      await queue.signIn('bob');
      await queue.join(`call:telnyx:never-started-${unique()}`);
      const state = await eventually('the ghost caller dropped', async () => {
        const s = await queue.state();
        return s.stats.abandoned === 1 ? s : undefined;
      });
      expect(state.stats).toMatchObject({ overflowed: 1, abandoned: 1, waiting: 0 });
      expect(state.agents[0]).toMatchObject({ id: 'bob', state: 'available', consecutiveMisses: 0 });
    });
  });

  it('keeps its state across continue-as-new and a worker restart, and starts a callback session in place', async () => {
    const taskQueue = `queue-test-${unique()}`;
    const name = `carry-${unique()}`;
    const queue = queueClient(name, { agentRingTimeoutSeconds: 5 }, taskQueue, 30);
    const callers = [await standInCaller('a'), await standInCaller('b'), await standInCaller('c')];
    let firstRunId: string | undefined;

    let worker = await newWorker(taskQueue);
    await worker.runUntil(async () => {
      for (const [i, caller] of callers.entries()) await queue.join(caller, { priority: i === 2 ? 5 : 0 });
      firstRunId = (await queue.handle.describe()).runId;
      // Enough updates to pass the 30-event threshold several times.
      for (let i = 1; i <= 20; i++) {
        await queue.handle.executeUpdate(configureQueueUpdate, { args: [{ announcementIntervalSeconds: 30 + i }] });
      }
      const state = await eventually('a later run', async () => {
        const s = await queue.state();
        return s.runs >= 2 ? s : undefined;
      });
      expect(state.waiting.map((w) => w.sessionWorkflowId)).toEqual([callers[2], callers[0], callers[1]]);
      expect(state.config.announcementIntervalSeconds).toBe(50);
      expect(state.stats.offered).toBe(3);
      expect((await queue.handle.describe()).runId).not.toBe(firstRunId);
    });

    // The worker is gone: the callback request and the agent's sign-in wait durably in Temporal.
    await queue.handle.signal(requestCallbackSignal, {
      ticket: `${callers[2]}#1`,
      callback: { provider: 'telnyx', to: '+15557770009', from: '+15550001000' },
    });
    worker = await newWorker(taskQueue);
    await worker.runUntil(async () => {
      await queue.signIn('alice');
      const callbackId = `call:telnyx:out:queue-${name}-cb1`;
      started.push(callbackId);
      const callback = await eventually('the callback session', async () => {
        try {
          return await client.workflow.getHandle(callbackId).describe();
        } catch {
          return undefined;
        }
      });
      expect(callback.type).toBe(CALL_SESSION_WORKFLOW);
      const startEvent = (await client.workflow.getHandle(callbackId).fetchHistory()).events?.[0];
      const payload = startEvent?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0]?.data;
      const input = JSON.parse(Buffer.from(payload!).toString('utf8')) as CallSessionInput;
      expect(input).toMatchObject({
        provider: 'telnyx',
        direction: 'outbound',
        to: '+15557770009',
        flow: 'queueCallback',
        flowArgs: { queue: name, ticket: `${callers[2]}#1`, agentId: 'alice', attempt: 1 },
      });
      const state = await queue.state();
      // The callback kept its place at the head (priority 5) and holds alice; the callers behind it wait.
      expect(state.waiting.map((w) => [w.sessionWorkflowId, w.status])).toEqual([
        [callers[2], 'offered'],
        [callers[0], 'waiting'],
        [callers[1], 'waiting'],
      ]);
      expect(state.agents.find((a) => a.id === 'alice')).toMatchObject({ state: 'offered' });
      expect(state.stats.callbacksRequested).toBe(1);
    });
  });
});
