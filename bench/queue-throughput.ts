/**
 * How much one call queue workflow (`queue:<name>`) takes on the dev server: queue events per second
 * (arrivals, departures, agent changes) against update latency, and the history a busy queue writes per
 * hour. Starts its own dev server (free port, SQLite file under .data/bench-queue-<ts>/, deleted at the
 * end); the worker runs in this process, beside the load generator.
 *
 *   npm run bench:queue               # about 4 minutes
 *   BENCH_QUICK=1 npm run bench:queue # a short pass, to check that it runs
 */
import { rmSync } from 'node:fs';
import { cpus } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import {
  CALL_QUEUE_WORKFLOW,
  CALL_SESSION_WORKFLOW,
  agentCallEndedSignal,
  agentUpdate,
  joinQueueUpdate,
  leaveQueueSignal,
  offerResultSignal,
  queueStateQuery,
  queueWorkflowStart,
  type CallQueueInput,
  type QueueConfig,
} from '../src/calls';
import { startDevServer } from '../src/dev/dev-server';
import { freePorts } from '../test/support/net';
import { bundleWorkflowsToFile } from '../worker/bundle';
import { ROOT, cpuMs, loadAverage, machineBusyMs, percentile } from './support';

const QUICK = !!process.env.BENCH_QUICK;
const TASK_QUEUE = 'bench-queue';
const IDLE_TASK_QUEUE = 'bench-queue-callers-nobody-polls';
/** Paced levels: queue events per second offered, open loop (events go out on schedule, answered or not). */
const RATES = QUICK ? [5, 20] : [5, 10, 20, 40, 80];
const LEVEL_SECONDS = QUICK ? 5 : 20;
/** Flat-out levels: clients each sending its next event as soon as the previous one is answered. */
const FLAT_OUT_CLIENTS = [4, 16];
const FLAT_OUT_SECONDS = QUICK ? 5 : 20;
const LIFECYCLE_CALLS = QUICK ? 12 : 60;
/** A busy queue, for the per-hour figure: 20 agents at a 3-minute handle time. */
const BUSY_CALLS_PER_HOUR = 400;

const log = (line: string) => console.error(`[bench:queue] ${line}`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const unique = () => `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;

interface LevelResult {
  label: string;
  offered: number;
  done: number;
  seconds: number;
  updateMs: number[];
  signalMs: number[];
  errors: string[];
  runs: number;
  historyEvents: number;
  cpu: { self: number; server: number; other: number };
}

/** Every run's history length of a workflow id (continue-as-new makes several). */
async function historyEventsOf(client: Client, workflowId: string): Promise<{ runs: number; events: number }> {
  let runs = 0;
  let events = 0;
  // Visibility lists the runs; their lengths come from describe (visibility's is not kept up to date).
  for await (const execution of client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) {
    runs++;
    events += (await client.workflow.getHandle(workflowId, execution.runId).describe()).historyLength;
  }
  return { runs, events };
}

async function startQueue(client: Client, name: string, config: Partial<QueueConfig>): Promise<WorkflowHandle> {
  const start = queueWorkflowStart(name, config);
  const input: CallQueueInput = start.args[0];
  return client.workflow.start(CALL_QUEUE_WORKFLOW, {
    workflowId: start.workflowId,
    taskQueue: TASK_QUEUE,
    args: [input],
    staticSummary: start.staticSummary,
  });
}

/**
 * One queue under a mix of 40 % arrivals (join update), 40 % departures (leave signal) and 20 % agent
 * changes (update). Callers need a skill no agent has, so no offer goes out: this is the queue's own cost.
 */
function mixedLoad(handle: WorkflowHandle) {
  const open: string[] = [];
  const onBreak = new Set<string>();
  const updateMs: number[] = [];
  const signalMs: number[] = [];
  const errors: string[] = [];
  let n = 0;
  let done = 0;
  const timed = async (into: number[], send: () => Promise<unknown>) => {
    const t0 = performance.now();
    try {
      await send();
      into.push(performance.now() - t0);
      done++;
    } catch (err) {
      const cause = (err as { cause?: Error }).cause;
      errors.push(`${(err as Error).message ?? String(err)}${cause ? `: ${cause.message}` : ''}`);
    }
  };
  return {
    updateMs,
    signalMs,
    errors,
    get done() {
      return done;
    },
    async setUp() {
      for (const agentId of ['a1', 'a2', 'a3'])
        await handle.executeUpdate(agentUpdate, { args: [{ op: 'sign-in', agentId, address: '+15550002000' }] });
    },
    next(): Promise<void> {
      const i = n++;
      const kind = i % 5;
      if ((kind === 2 || kind === 3) && open.length > 0) {
        const ticket = open.shift()!;
        return timed(signalMs, () => handle.signal(leaveQueueSignal, { ticket, reason: 'abandoned' }));
      }
      if (kind === 4) {
        const agentId = `a${1 + (i % 3)}`;
        const state = onBreak.has(agentId) ? 'available' : 'break';
        if (state === 'break') onBreak.add(agentId);
        else onBreak.delete(agentId);
        return timed(updateMs, () =>
          handle.executeUpdate(agentUpdate, { args: [{ op: 'set-state', agentId, state }] }),
        );
      }
      const ticket = `t${i}-${unique()}`;
      return timed(updateMs, async () => {
        await handle.executeUpdate(joinQueueUpdate, {
          args: [{ requestId: ticket, sessionWorkflowId: `call:bench:${ticket}`, skills: { unobtainable: 1 } }],
        });
        open.push(ticket);
      });
    },
  };
}

function cpuMeter(serverPid: number) {
  const self0 = process.cpuUsage();
  const server0 = cpuMs(serverPid);
  const busy0 = machineBusyMs();
  const t0 = performance.now();
  return () => {
    const selfUsage = process.cpuUsage(self0);
    const self = (selfUsage.user + selfUsage.system) / 1000;
    const server = cpuMs(serverPid) - server0;
    const wall = performance.now() - t0;
    const other = Math.max(0, machineBusyMs() - busy0 - self - server);
    return { self: self / wall, server: server / wall, other: other / wall };
  };
}

async function pacedLevel(client: Client, serverPid: number, rate: number): Promise<LevelResult> {
  const handle = await startQueue(client, `paced-${rate}-${unique()}`, { maxSize: 100_000, maxWaitSeconds: 86_400 });
  const load = mixedLoad(handle);
  await load.setUp();
  const meter = cpuMeter(serverPid);
  const total = rate * LEVEL_SECONDS;
  const t0 = performance.now();
  const inFlight: Array<Promise<void>> = [];
  for (let i = 0; i < total; i++) {
    const due = t0 + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    inFlight.push(load.next());
  }
  await Promise.all(inFlight);
  const seconds = (performance.now() - t0) / 1000;
  const cpu = meter();
  await sleep(1500); // visibility catches up with the last run's history length
  const history = await historyEventsOf(client, handle.workflowId);
  return {
    label: `${rate}/s paced`,
    offered: total,
    done: load.done,
    seconds,
    updateMs: load.updateMs,
    signalMs: load.signalMs,
    errors: load.errors,
    runs: history.runs,
    historyEvents: history.events,
    cpu,
  };
}

async function flatOut(client: Client, serverPid: number, clients: number): Promise<LevelResult> {
  const handle = await startQueue(client, `flat-${unique()}`, { maxSize: 100_000, maxWaitSeconds: 86_400 });
  const load = mixedLoad(handle);
  await load.setUp();
  const meter = cpuMeter(serverPid);
  const t0 = performance.now();
  const end = t0 + FLAT_OUT_SECONDS * 1000;
  let offered = 0;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (performance.now() < end) {
        offered++;
        await load.next();
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  const cpu = meter();
  await sleep(1500);
  const history = await historyEventsOf(client, handle.workflowId);
  return {
    label: `flat-out ×${clients}`,
    offered,
    done: load.done,
    seconds,
    updateMs: load.updateMs,
    signalMs: load.signalMs,
    errors: load.errors,
    runs: history.runs,
    historyEvents: history.events,
    cpu,
  };
}

/**
 * Whole calls through one queue, three agents: join → the queue offers an agent (a signal to the caller's
 * session) → answered → the agent call ends → wrap-up on the queue's timer. The history they write per call
 * gives the per-hour figure of a busy queue.
 */
async function lifecycles(client: Client): Promise<{ calls: number; events: number; runs: number; seconds: number }> {
  const handle = await startQueue(client, `calls-${unique()}`, { wrapUpSeconds: 1, agentRingTimeoutSeconds: 15 });
  for (const agentId of ['a1', 'a2', 'a3'])
    await handle.executeUpdate(agentUpdate, { args: [{ op: 'sign-in', agentId, address: '+15550002000' }] });
  const t0 = performance.now();
  let next = 0;
  const oneCall = async () => {
    const i = next++;
    // A session that never runs: it only receives the queue's offer.
    const sessionWorkflowId = `call:telnyx:bench-${i}-${unique()}`;
    await client.workflow.start(CALL_SESSION_WORKFLOW, {
      workflowId: sessionWorkflowId,
      taskQueue: IDLE_TASK_QUEUE,
      args: [
        { provider: 'telnyx', direction: 'inbound', flow: 'defaultIvr', from: '+15557770001', to: '+15550001000' },
      ],
    });
    const ticket = `${sessionWorkflowId}#1`;
    await handle.executeUpdate(joinQueueUpdate, { args: [{ requestId: ticket, sessionWorkflowId }] });
    let offer: { offerId: string; agentId: string } | undefined;
    while (!offer) {
      const entry = (await handle.query(queueStateQuery)).waiting.find((w) => w.ticket === ticket);
      if (entry?.offerId && entry.offeredTo) offer = { offerId: entry.offerId, agentId: entry.offeredTo[0] };
      else await sleep(50);
    }
    await handle.signal(offerResultSignal, {
      ticket,
      offerId: offer.offerId,
      outcome: 'answered',
      agentId: offer.agentId,
    });
    await sleep(200); // the agent call
    await handle.signal(agentCallEndedSignal, { ticket, offerId: offer.offerId, agentId: offer.agentId });
    await client.workflow.getHandle(sessionWorkflowId).terminate('bench over');
  };
  await Promise.all(
    Array.from({ length: 3 }, async () => {
      while (next < LIFECYCLE_CALLS) await oneCall();
    }),
  );
  // Let the last wrap-ups end on the timer, so their events are counted too.
  await sleep(2500);
  const seconds = (performance.now() - t0) / 1000;
  const answered = (await handle.query(queueStateQuery)).stats.answered;
  const history = await historyEventsOf(client, handle.workflowId);
  return { calls: answered, events: history.events, runs: history.runs, seconds };
}

function row(r: LevelResult): string {
  const updates = [...r.updateMs].sort((a, b) => a - b);
  const signals = [...r.signalMs].sort((a, b) => a - b);
  const ms = (v: number) => (Number.isNaN(v) ? '-' : v < 10 ? v.toFixed(1) : v.toFixed(0));
  return [
    r.label.padEnd(16),
    String(r.offered).padStart(6),
    (r.done / r.seconds).toFixed(1).padStart(8),
    ms(percentile(updates, 0.5)).padStart(7),
    ms(percentile(updates, 0.99)).padStart(7),
    ms(updates[updates.length - 1] ?? NaN).padStart(7),
    ms(percentile(signals, 0.99)).padStart(9),
    String(r.errors.length).padStart(6),
    String(r.runs).padStart(5),
    (r.historyEvents / Math.max(1, r.done)).toFixed(1).padStart(8),
    `${r.cpu.self.toFixed(2)} ${r.cpu.server.toFixed(2)} ${r.cpu.other.toFixed(2)}`.padStart(15),
  ].join(' ');
}

async function main(): Promise<void> {
  const dataDir = path.join(ROOT, '.data', `bench-queue-${Date.now()}`);
  const [port] = await freePorts(1);
  const loadBefore = loadAverage();
  const server = await startDevServer({
    port,
    uiPort: 'headless',
    dbFile: path.join(dataDir, 'temporal.sqlite'),
    log,
    projectRoot: ROOT,
  });
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const nativeConnection = await NativeConnection.connect({ address: server.address });
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection });
  try {
    const bundle = await bundleWorkflowsToFile(path.join(dataDir, 'workflow-bundle.js'));
    const worker = await Worker.create({
      connection: nativeConnection,
      taskQueue: TASK_QUEUE,
      workflowBundle: { codePath: bundle },
      activities: {},
    });
    const results: LevelResult[] = [];
    let calls: Awaited<ReturnType<typeof lifecycles>> | undefined;
    await worker.runUntil(async () => {
      for (const rate of RATES) {
        log(`paced ${rate}/s for ${LEVEL_SECONDS} s ...`);
        results.push(await pacedLevel(client, server.pid, rate));
      }
      for (const clients of FLAT_OUT_CLIENTS) {
        log(`flat-out, ${clients} clients back to back for ${FLAT_OUT_SECONDS} s ...`);
        results.push(await flatOut(client, server.pid, clients));
      }
      log(`${LIFECYCLE_CALLS} whole calls through one queue ...`);
      calls = await lifecycles(client);
    });

    console.log(`queue throughput benchmark, ${new Date().toISOString()}${QUICK ? ' (BENCH_QUICK)' : ''}`);
    console.log(
      `machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}; load average before ${loadBefore}, after ${loadAverage()}`,
    );
    console.log(`node ${process.version}; dev server (SQLite file, WAL); worker and load generator in one process`);
    console.log('');
    console.log(
      'One queue workflow; events = 40 % joins (update), 40 % leaves (signal), 20 % agent changes (update).\n' +
        'done/s = events answered per second; update ms = client round trip of an update (accepted, applied,\n' +
        'answered); signal p99 = the signal RPC (durably accepted); ev/msg = history events per queue event;\n' +
        'cpu = cores used by this process (worker + load), the server, and other processes.',
    );
    console.log(
      'level            offered  done/s  upd p50 upd p99 upd max sig p99 ms errors  runs  ev/msg  cpu self srv oth',
    );
    for (const r of results) console.log(row(r));
    const errorKinds = new Set(results.flatMap((r) => r.errors.map((e) => e.slice(0, 160))));
    if (errorKinds.size) console.log(`errors seen: ${[...errorKinds].join(' | ')}`);
    if (calls) {
      const perCall = calls.events / calls.calls;
      const perHour = perCall * BUSY_CALLS_PER_HOUR;
      console.log('');
      console.log(
        `whole calls: ${calls.calls} answered in ${calls.seconds.toFixed(0)} s over ${calls.runs} run(s); ` +
          `${perCall.toFixed(1)} history events per answered call (join, offer signal, answer, call end, wrap-up timer)`,
      );
      console.log(
        `a busy queue of ${BUSY_CALLS_PER_HOUR} calls/hour writes ~${Math.round(perHour)} history events/hour; ` +
          `at the 2000-event continue-as-new threshold that is a new run every ${((2000 / perHour) * 60).toFixed(0)} min`,
      );
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
