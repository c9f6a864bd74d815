import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import {
  CALL_QUEUE_WORKFLOW,
  CALL_SESSION_WORKFLOW,
  agentCallEndedSignal,
  agentUpdate,
  joinQueueUpdate,
  offerResultSignal,
  queueStateQuery,
  queueWorkflowStart,
  requestCallbackSignal,
  type QueueView,
} from '../src/calls';
import { PROJECT_ROOT } from '../src/config';
import { startDevServer } from '../src/dev/dev-server';
import { freePorts } from '../test/support/net';
import { bundleWorkflowsToFile } from '../worker/bundle';

/**
 * Records a queue's histories as replay fixtures (test/fixtures/histories/callQueueWorkflow-*.json): a fresh
 * dev server, a worker, and a scripted day in a small queue: callers join, an agent misses one and answers,
 * wrap-up ends on the timer, a caller waits past the max wait and overflows, one asks for a callback (a
 * callback session is started), an offer goes to a session that does not exist; the queue continues as new
 * on the way. Every run is saved. Run it again (and review the diff) after a deliberate, patched change.
 */
const OUT = path.join(PROJECT_ROOT, 'test', 'fixtures', 'histories');
const TASK_QUEUE = 'record-queue';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function main(): Promise<void> {
  const dataDir = path.join(PROJECT_ROOT, '.data', `record-queue-${Date.now()}`);
  const [port] = await freePorts(1);
  const log = (line: string) => console.error(line);
  const server = await startDevServer({
    port,
    uiPort: 'headless',
    dbFile: path.join(dataDir, 'temporal.sqlite'),
    log,
    projectRoot: PROJECT_ROOT,
  });
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const nativeConnection = await NativeConnection.connect({ address: server.address });
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection });
  try {
    const worker = await Worker.create({
      connection: nativeConnection,
      taskQueue: TASK_QUEUE,
      workflowBundle: { codePath: await bundleWorkflowsToFile(path.join(dataDir, 'workflow-bundle.js')) },
      activities: {},
    });
    const start = queueWorkflowStart('support', {
      agentRingTimeoutSeconds: 5,
      wrapUpSeconds: 1,
      maxWaitSeconds: 4,
      overflow: { kind: 'voicemail' },
    });
    await worker.runUntil(async () => {
      const queue = await client.workflow.start(CALL_QUEUE_WORKFLOW, {
        workflowId: start.workflowId,
        taskQueue: TASK_QUEUE,
        args: [{ ...start.args[0], continueAsNewAtHistoryLength: 60 }],
        staticSummary: start.staticSummary,
      });
      const session = async (name: string) => {
        const workflowId = `call:telnyx:${name}`;
        await client.workflow.start(CALL_SESSION_WORKFLOW, {
          workflowId,
          taskQueue: 'record-queue-callers-nobody-polls',
          args: [
            { provider: 'telnyx', direction: 'inbound', flow: 'defaultIvr', from: '+15557770001', to: '+15550001000' },
          ],
        });
        return workflowId;
      };
      const join = async (sessionWorkflowId: string, priority = 0) => {
        await queue.executeUpdate(joinQueueUpdate, {
          args: [{ requestId: `${sessionWorkflowId}#1`, sessionWorkflowId, priority }],
        });
        return `${sessionWorkflowId}#1`;
      };
      const offerTo = async (ticket: string) => {
        for (;;) {
          const entry = (await queue.query(queueStateQuery)).waiting.find((w) => w.ticket === ticket);
          if (entry?.offerId) return entry.offerId;
          await sleep(100);
        }
      };

      const first = await join(await session('first'));
      const second = await join(await session('second'));
      await join(await session('patient'), -1);
      await queue.executeUpdate(agentUpdate, { args: [{ op: 'sign-in', agentId: 'alice', address: '+15550002000' }] });
      let offerId = await offerTo(first);
      await queue.signal(offerResultSignal, { ticket: first, offerId, outcome: 'no-answer' });
      await sleep(300);
      offerId = await offerTo(first);
      await queue.signal(offerResultSignal, { ticket: first, offerId, outcome: 'answered', agentId: 'alice' });
      await queue.signal(requestCallbackSignal, {
        ticket: second,
        callback: { provider: 'telnyx', to: '+15557770002', from: '+15550001000' },
      });
      await sleep(4500); // the patient caller overflows on the max-wait timer
      await queue.signal(agentCallEndedSignal, { ticket: first, offerId, agentId: 'alice' });
      await sleep(2000); // wrap-up ends; the callback comes up and a callback session starts
      await join('call:telnyx:never-started');
      await queue.executeUpdate(agentUpdate, { args: [{ op: 'sign-in', agentId: 'bob', address: '+15550003000' }] });
      await sleep(1000);
      const state: QueueView = await queue.query(queueStateQuery);
      console.error(`queue after the script: run ${state.runs}, ${JSON.stringify(state.stats)}`);
    });

    mkdirSync(OUT, { recursive: true });
    const runs: string[] = [];
    for await (const execution of client.workflow.list({ query: `WorkflowId = '${start.workflowId}'` }))
      runs.push(execution.runId);
    runs.reverse(); // oldest first
    for (const [i, runId] of runs.entries()) {
      const json = execFileSync(
        server.binary,
        [
          'workflow',
          'show',
          '--address',
          server.address,
          '--workflow-id',
          start.workflowId,
          '--run-id',
          runId,
          '--output',
          'json',
        ],
        { maxBuffer: 64 * 1024 * 1024 },
      );
      const name = `callQueueWorkflow-queue-support-run-${i + 1}`;
      writeFileSync(path.join(OUT, `${name}.json`), json);
      console.log(`saved ${name}.json (${json.length} bytes)`);
    }
  } finally {
    await nativeConnection.close();
    await connection.close();
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
