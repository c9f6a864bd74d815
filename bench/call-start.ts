import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, Connection } from '@temporalio/client';
import { tsToMs } from '@temporalio/common/lib/time';
import { inboundCallWorkflowId } from '../src/calls';
import { cpuMs, loadAverage, rssMiB } from './support';
import { hangUpCalls, inBatches, startBenchStack, startLiveCall, summary, type BenchStack } from './live-sessions';

/**
 * Call start with many live sessions: does a new caller wait behind the calls already up? Ramps up `live`
 * calls (each left live at the IVR menu, its session cached on the worker), then places `probes` new calls at
 * `probeRate` per second while the live ones keep sending events (`eventsPerSecond`, spread over them) and
 * their liveness timers fire. Call start = the new call's first webhook → the answer command at the carrier.
 *
 *   npx ts-node bench/call-start.ts [--live=1000] [--probes=100] [--probe-rate=5] [--events=20]
 *
 * TEMPORAL_ADDRESS: against that Temporal (e.g. `npm run cluster`'s, 127.0.0.1:17200); unset, a fresh dev server.
 * The gateway and worker get this process's environment (WORKER_CACHED_SESSIONS, WORKER_MAX_WORKFLOW_TASKS, ...).
 */

export interface CallStartOptions {
  /** Calls kept live while the new ones are timed. */
  live: number;
  /** Calls started at once during the ramp. Default 50. */
  rampConcurrency?: number;
  /** New calls timed once the live ones are up. Default 100. */
  probes?: number;
  /** New calls per second. Default 5. */
  probeRate?: number;
  /** Events per second to the live calls meanwhile (`call.speak.started`, a no-op for the flow). Default 20. */
  eventsPerSecond?: number;
  /** Hang the calls up at the end. Default true. */
  hangUp?: boolean;
  log?: (line: string) => void;
}

type Summary = ReturnType<typeof summary>;

export interface CallStartResult {
  live: number;
  /** The ramp: how fast `live` calls were started, and their call starts. */
  rampSeconds: number;
  rampCallsPerSecond: number;
  ramp: Summary;
  /** Call starts of the new calls placed with `live` calls up: the figure the caller hears. */
  probes: Summary;
  /** Live-call events sent meanwhile, and how many the gateway did not take. */
  liveEvents: number;
  liveEventErrors: number;
  /**
   * Why the new calls that took over a second did: how many there were, and the workflow-task timeouts and the
   * longest wait of a first workflow task for a worker (scheduled → started, ms) in their histories.
   */
  slowStarts: { count: number; taskTimeouts: number; longestFirstTaskWaitMs: number };
  /** The worker's RSS after the run (MiB), and the CPU it used during the probes (cores). */
  workerRssMiB: number;
  workerCoresDuringProbes: number;
}

export async function measureCallStart(bench: BenchStack, options: CallStartOptions): Promise<CallStartResult> {
  const log = options.log ?? (() => undefined);
  const prefix = `cs-${Date.now().toString(36)}`;
  const liveIds = Array.from({ length: options.live }, (_, i) => `${prefix}-live-${i}`);
  const rampStarts: number[] = [];
  const rampStartedAt = performance.now();
  await inBatches(liveIds, options.rampConcurrency ?? 50, async (callId, i) => {
    rampStarts.push(await startLiveCall(bench, callId));
    if ((i + 1) % 500 === 0) log(`${i + 1} live calls`);
  });
  const rampSeconds = (performance.now() - rampStartedAt) / 1000;
  log(`${options.live} live calls in ${rampSeconds.toFixed(1)} s; timing new calls`);

  const workerPid = bench.stack.worker.child.pid!;
  const cpuBefore = cpuMs(workerPid);
  const probesStartedAt = performance.now();
  let probing = true;
  let liveEvents = 0;
  let liveEventErrors = 0;
  const eventsPerSecond = options.live > 0 ? (options.eventsPerSecond ?? 20) : 0;
  const background = (async () => {
    for (let i = 0; probing && eventsPerSecond > 0; i++) {
      const callId = liveIds[Math.floor(Math.random() * liveIds.length)];
      liveEvents++;
      bench.sender
        .prepare('call.speak.started', callId)()
        .catch(() => liveEventErrors++);
      await sleep(1000 / eventsPerSecond);
    }
  })();

  const probeIds = Array.from({ length: options.probes ?? 100 }, (_, i) => `${prefix}-new-${i}`);
  const probeStarts: number[] = [];
  const slowIds: string[] = [];
  const pending: Promise<void>[] = [];
  for (const callId of probeIds) {
    pending.push(
      startLiveCall(bench, callId).then((ms) => {
        probeStarts.push(ms);
        if (ms > 1000) slowIds.push(callId);
      }),
    );
    await sleep(1000 / (options.probeRate ?? 5));
  }
  await Promise.all(pending);
  probing = false;
  await background;
  const workerCores = (cpuMs(workerPid) - cpuBefore) / (performance.now() - probesStartedAt);

  const result: CallStartResult = {
    live: options.live,
    rampSeconds: Math.round(rampSeconds * 10) / 10,
    rampCallsPerSecond: Math.round((options.live / rampSeconds) * 10) / 10,
    ramp: summary(rampStarts),
    probes: summary(probeStarts),
    liveEvents,
    liveEventErrors,
    slowStarts: await whySlow(bench, slowIds),
    workerRssMiB: Math.round(rssMiB(workerPid)),
    workerCoresDuringProbes: Math.round(workerCores * 100) / 100,
  };
  if (options.hangUp ?? true) await hangUpCalls(bench, [...liveIds, ...probeIds]);
  return result;
}

async function whySlow(bench: BenchStack, callIds: readonly string[]): Promise<CallStartResult['slowStarts']> {
  const connection = await Connection.connect({ address: bench.temporalAddress });
  try {
    const client = new Client({ connection });
    let taskTimeouts = 0;
    let longestFirstTaskWaitMs = 0;
    for (const callId of callIds) {
      const history = await client.workflow.getHandle(inboundCallWorkflowId('telnyx', callId)).fetchHistory();
      const events = history.events ?? [];
      const timeMs = (i: number) => tsToMs(events[i].eventTime);
      taskTimeouts += events.filter((e) => e.workflowTaskTimedOutEventAttributes).length;
      const scheduled = events.findIndex((e) => e.workflowTaskScheduledEventAttributes);
      const started = events.findIndex((e) => e.workflowTaskStartedEventAttributes);
      if (scheduled >= 0 && started > scheduled)
        longestFirstTaskWaitMs = Math.max(longestFirstTaskWaitMs, Math.round(timeMs(started) - timeMs(scheduled)));
    }
    return { count: callIds.length, taskTimeouts, longestFirstTaskWaitMs };
  } finally {
    await connection.close();
  }
}

function flag(name: string, fallback: number): number {
  const arg = process.argv.find((a) => a.startsWith(`--${name}=`));
  return arg ? Number(arg.slice(name.length + 3)) : fallback;
}

async function main(): Promise<void> {
  const log = (line: string) => console.error(`[call-start] ${line}`);
  const loadBefore = loadAverage();
  const bench = await startBenchStack({ temporalAddress: process.env.TEMPORAL_ADDRESS, log: () => undefined });
  try {
    const result = await measureCallStart(bench, {
      live: flag('live', 1000),
      probes: flag('probes', 100),
      probeRate: flag('probe-rate', 5),
      eventsPerSecond: flag('events', 20),
      rampConcurrency: flag('concurrency', 50),
      log,
    });
    const p = result.probes;
    console.log(JSON.stringify({ ...result, temporal: bench.temporalAddress, loadBefore, loadAfter: loadAverage() }));
    console.log(
      `call start with ${result.live} live calls: p50 ${p.p50} ms, p90 ${p.p90} ms, p99 ${p.p99} ms, max ${p.max} ms ` +
        `(n ${p.n}); ramp ${result.rampCallsPerSecond} calls/s, ramp p99 ${result.ramp.p99} ms`,
    );
  } finally {
    await bench.stop();
  }
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
