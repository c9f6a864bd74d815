import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { setMaxListeners } from 'node:events';
import { cpus } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import { inboundCallWorkflowId } from '../src/calls';
import { freePort } from '../src/dev/ports';
import { startStack } from '../src/dev/stack';
import { bundleWorkflowsToFile } from '../worker/bundle';
import { ENGINES, startEngine, type EngineBench, type EngineName, type EngineRun } from './engines';
import {
  captureCarrier,
  cpuMsByProcess,
  historyEventsPerReaction,
  loadAverage,
  machineBusyMs,
  percentile,
  ROOT,
  startChild,
  webhookSender,
  type CaptureCarrier,
} from './support';
import { formatCeilings, formatTable, type BenchRow } from './table';

/**
 * Reaction time (carrier event in → next carrier command out) of three systems at 50 / 100 / 200 / 500
 * concurrent callers, on each Temporal engine, in one run and one table: no durability (a stateless webhook
 * handler, once: it has no engine), the floor (a bare Temporal signal → activity → HTTP round trip) and
 * durable-calls (gateway + worker). See bench/README.md.
 *
 *   npm run bench [-- --engines dev,cluster --systems stateless,floor,durable-calls --levels 50,100,200,500]
 *   BENCH_QUICK=1 npm run bench    (a few calls per level on both engines, to check that it works)
 */

/** More measurements to run on each engine after the reaction levels; their rows join the table. */
const ENGINE_BENCHES: EngineBench[] = [];

const SYSTEMS = ['stateless', 'floor', 'durable-calls'] as const;
type SystemName = (typeof SYSTEMS)[number];

/** Each simulated call: the first event starts the session, the next three are in-call reactions. */
const STEPS = [
  { event: 'call.initiated', extra: { direction: 'incoming', state: 'parked' }, action: 'answer' },
  { event: 'call.answered', extra: { state: 'answered' }, action: 'gather_using_speak' },
  { event: 'call.gather.ended', extra: { digits: '2', status: 'valid' }, action: 'speak' },
  { event: 'call.speak.ended', extra: { status: 'completed' }, action: 'record_start' },
] as const;
type Step = (typeof STEPS)[number];

/**
 * A load level. Calls run in waves of `concurrency`. Before each of its events a call pauses a random time
 * in `pauseMs` (its first event too, so arrivals spread out): the prompt playing, the caller deciding.
 */
interface Level {
  concurrency: number;
  calls: number;
  pauseMs: [number, number];
}
const QUICK = Boolean(process.env.BENCH_QUICK);
/** Calls whose histories are read for the history events per reaction, per level. */
const HISTORY_SAMPLE = QUICK ? 2 : 5;
const WARM_UP: Level = { concurrency: 10, calls: QUICK ? 10 : 30, pauseMs: [0, 20] };
/** No new wave of calls starts after this long in a level. */
const LEVEL_BUDGET_MS = 60_000;

/** Paced callers, as a caller listening to a prompt. */
const PAUSE_MS: [number, number] = QUICK ? [200, 800] : [2000, 8000];
/** At least 100 calls a level (so two waves of 50), for a steadier p99. */
const levels = (callers: number[]): Level[] =>
  callers.map((concurrency) => ({
    concurrency,
    calls: QUICK ? concurrency : Math.max(concurrency, 100),
    pauseMs: PAUSE_MS,
  }));

/** A system under test: how an event reaches it, and how its sessions end between waves. */
interface System {
  name: SystemName;
  engine: EngineName | '-';
  /** Readies `step` of call `callId`; the returned function delivers it (the timer starts just before). */
  prepare(callId: string, step: Step, clientState: unknown): () => Promise<void>;
  /** Ends the calls of a wave and waits until their sessions are gone. */
  end(callIds: string[]): Promise<void>;
  /** Processes whose CPU is reported, by name. */
  processes: Record<string, number>;
  /** History events per reaction of these (ended) calls, for a durable system. */
  historyEventsPerReaction?(callIds: string[]): Promise<number>;
}

interface LevelResult {
  level: Level;
  calls: number;
  starts: number[];
  reactions: number[];
  errors: string[];
  busyMs: number;
  /** CPU ms used by each process while calls were in flight. */
  cpuMs: Record<string, number>;
  /** CPU ms the rest of the machine used meanwhile (other users' load). */
  otherCpuMs: number;
  /** Calls of the last wave that went through, for the history sample. */
  completed: string[];
}

/** One call: its four steps, each timed from delivery to the command's arrival at the carrier. */
async function runCall(system: System, carrier: CaptureCarrier, callId: string, result: LevelResult): Promise<void> {
  const [min, max] = result.level.pauseMs;
  let clientState: unknown;
  for (const [i, step] of STEPS.entries()) {
    if (max > 0) await sleep(min + Math.random() * (max - min));
    const deliver = system.prepare(callId, step, clientState);
    const arrival = carrier.expect(callId, step.action);
    const t0 = performance.now();
    const [, command] = await Promise.all([deliver(), arrival]);
    clientState = command.body.client_state;
    (i === 0 ? result.starts : result.reactions).push(command.at - t0);
  }
}

/** Waves of `level.concurrency` calls at once, until `level.calls` calls or the time budget. */
async function runLevel(system: System, carrier: CaptureCarrier, level: Level): Promise<LevelResult> {
  const result: LevelResult = {
    level,
    calls: 0,
    starts: [],
    reactions: [],
    errors: [],
    busyMs: 0,
    cpuMs: {},
    otherCpuMs: 0,
    completed: [],
  };
  const deadline = Date.now() + LEVEL_BUDGET_MS;
  while (result.calls < level.calls && Date.now() < deadline) {
    const callIds = Array.from(
      { length: Math.min(level.concurrency, level.calls - result.calls) },
      () => `v3:bench-${randomUUID()}`,
    );
    const cpuBefore = cpuMsByProcess(system.processes);
    const machineBefore = machineBusyMs();
    const started = performance.now();
    const completed: string[] = [];
    await Promise.all(
      callIds.map((id) =>
        runCall(system, carrier, id, result).then(
          () => void completed.push(id),
          (err: Error) => void result.errors.push(err.message),
        ),
      ),
    );
    result.busyMs += performance.now() - started;
    const cpuAfter = cpuMsByProcess(system.processes);
    let ours = 0;
    for (const name of Object.keys(system.processes)) {
      const used = Math.max(0, cpuAfter[name] - cpuBefore[name]);
      ours += used;
      result.cpuMs[name] = (result.cpuMs[name] ?? 0) + used;
    }
    result.otherCpuMs += Math.max(0, machineBusyMs() - machineBefore - ours);
    await system.end(callIds);
    result.calls += callIds.length;
    result.completed = completed;
  }
  return result;
}

function toRow(system: System, result: LevelResult, historyEvents: number | undefined): BenchRow {
  const sorted = [...result.reactions].sort((a, b) => a - b);
  const commands = result.starts.length + result.reactions.length;
  return {
    engine: system.engine,
    system: system.name,
    load: `${result.level.concurrency} callers`,
    callers: result.level.concurrency,
    samples: sorted.length,
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
    startP99: percentile(
      [...result.starts].sort((a, b) => a - b),
      0.99,
    ),
    commandsPerSecond: (commands / result.busyMs) * 1000,
    cpuMsPerCommand: Object.fromEntries(Object.entries(result.cpuMs).map(([name, used]) => [name, used / commands])),
    historyEventsPerReaction: historyEvents,
    otherCores: result.otherCpuMs / result.busyMs,
    errors: result.errors,
  };
}

async function measure(
  system: System,
  carrier: CaptureCarrier,
  callers: number[],
  log: (line: string) => void,
): Promise<BenchRow[]> {
  const label = `${system.engine === '-' ? '' : `${system.engine} `}${system.name}`;
  log(`${label}: warm-up`);
  await runLevel(system, carrier, WARM_UP);
  const rows: BenchRow[] = [];
  for (const level of levels(callers)) {
    log(`${label}: ${level.calls} calls, ${level.concurrency} at a time, pauses ${level.pauseMs.join('-')} ms`);
    const result = await runLevel(system, carrier, level);
    const sample = result.completed.slice(0, HISTORY_SAMPLE);
    const historyEvents = await system.historyEventsPerReaction?.(sample).catch((err: Error) => {
      log(`${label}: history events not counted: ${err.message}`);
      return undefined;
    });
    rows.push(toRow(system, result, historyEvents));
  }
  return rows;
}

/** Things to stop, newest first: at the end, on an error, or on Ctrl-C. */
function stopList(log: (line: string) => void) {
  const stops: (() => Promise<unknown>)[] = [];
  return {
    /** Registers `stop`; returns a function that runs it now instead of at the end. */
    add(stop: () => Promise<unknown>): () => Promise<void> {
      stops.unshift(stop);
      return async () => {
        const index = stops.indexOf(stop);
        if (index < 0) return; // stopped already (Ctrl-C)
        stops.splice(index, 1);
        await stop();
      };
    },
    async stopAll() {
      for (const stop of stops.splice(0)) await stop().catch((err: Error) => log(`cleanup: ${err.message}`));
    },
  };
}

function parseOptions() {
  const { values } = parseArgs({
    options: {
      engines: { type: 'string', default: ENGINES.join(',') },
      systems: { type: 'string', default: SYSTEMS.join(',') },
      levels: { type: 'string', default: QUICK ? '5,10' : '50,100,200,500' },
    },
  });
  const list = <T extends string>(value: string, allowed: readonly T[], what: string): T[] =>
    value.split(',').map((item) => {
      if (!allowed.includes(item as T)) throw new Error(`unknown ${what} ${item}: one of ${allowed.join(', ')}`);
      return item as T;
    });
  const callers = values.levels.split(',').map(Number);
  if (callers.some((n) => !Number.isInteger(n) || n < 1)) throw new Error(`--levels: ${values.levels}`);
  return {
    engines: list(values.engines, ENGINES, 'engine'),
    systems: list(values.systems, SYSTEMS, 'system'),
    callers,
  };
}

async function main(): Promise<void> {
  const options = parseOptions();
  const began = Date.now();
  const log = (line: string) => console.error(`[bench ${((Date.now() - began) / 1000).toFixed(0)}s] ${line}`);
  const childOutput: string[] = [];
  const childLog = (line: string) => void childOutput.push(line);
  const dataDir = path.join(ROOT, '.data', `bench-${Date.now()}`);
  mkdirSync(dataDir, { recursive: true });
  const loadBefore = loadAverage();
  const account = generateKeyPairSync('ed25519');
  const der = account.publicKey.export({ format: 'der', type: 'spki' });
  const publicKey = der.subarray(der.length - 32).toString('base64'); // as the Telnyx portal shows it

  const running = stopList(log);
  const interrupted = () =>
    void running.stopAll().finally(() => {
      rmSync(dataDir, { recursive: true, force: true });
      process.exit(130);
    });
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);

  const rows: BenchRow[] = [];
  const engineLines: string[] = [];
  try {
    const carrier = await captureCarrier();
    running.add(() => carrier.close());
    const sessionBundlePath = path.join(dataDir, 'workflow-bundle.js');
    const floorBundlePath = path.join(dataDir, 'floor-bundle.js');
    const [floorBundle] = await Promise.all([
      bundleWorkflowCode({ workflowsPath: require.resolve('./floor-workflow'), logger: new DefaultLogger('WARN') }),
      bundleWorkflowsToFile(sessionBundlePath),
    ]);
    writeFileSync(floorBundlePath, floorBundle.code);
    const carrierEnv = {
      TELNYX_API_KEY: 'KEY-bench',
      TELNYX_PUBLIC_KEY: publicKey,
      TELNYX_API_BASE_URL: carrier.baseUrl,
    };

    if (options.systems.includes('stateless')) {
      const port = await freePort();
      const app = await startChild('stateless-app.ts', { ...carrierEnv, PORT: String(port) }, childLog);
      const stopApp = running.add(() => app.stop());
      const sender = webhookSender(`http://127.0.0.1:${port}/webhooks/telnyx`, account.privateKey);
      rows.push(
        ...(await measure(
          {
            name: 'stateless',
            engine: '-',
            prepare: (callId, step) => sender.prepare(step.event, callId, step.extra),
            end: async () => undefined,
            processes: { bench: process.pid, handler: app.pid },
          },
          carrier,
          options.callers,
          log,
        )),
      );
      await sender.close();
      await stopApp();
    }

    for (const engineName of options.engines) {
      const engineDir = path.join(dataDir, engineName);
      log(`starting the ${engineName} engine`);
      const engine = await startEngine(engineName, engineDir, log);
      const stopEngine = running.add(() => engine.stop());
      engineLines.push(engine.description);
      const connection = await Connection.connect({ address: engine.address });
      const closeConnection = running.add(() => connection.close());
      const client = new Client({ connection });
      const run: EngineRun = {
        engine,
        client,
        carrier,
        carrierEnv,
        signingKey: account.privateKey,
        sessionBundlePath,
        dir: engineDir,
        log,
        childLog,
      };
      if (options.systems.includes('floor')) rows.push(...(await measureFloor(run, floorBundlePath, options.callers)));
      if (options.systems.includes('durable-calls')) rows.push(...(await measureDurableCalls(run, options.callers)));
      for (const bench of ENGINE_BENCHES) rows.push(...(await bench(run)));
      await closeConnection();
      await stopEngine();
    }
    log(`done; commands nobody waited for: ${carrier.unexpected}`);
  } catch (err) {
    console.error(childOutput.slice(-30).join('\n'));
    throw err;
  } finally {
    await running.stopAll();
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
    rmSync(dataDir, { recursive: true, force: true });
  }

  report(rows, { loadBefore, loadAfter: loadAverage(), engines: engineLines });
  const warnings = childOutput.filter((line) => /warn|error/i.test(line));
  if (warnings.length)
    console.log(
      `\n${warnings.length} warning/error lines from the processes; the last ones:\n${warnings.slice(-5).join('\n')}`,
    );
}

/**
 * Waits until a wave's workflows have ended, failed or turned out never to have started (a call that errored),
 * for at most 2 minutes: one stuck workflow must not stop the run.
 */
async function waitEnded(run: EngineRun, workflowIds: string[]): Promise<void> {
  // The waits still polling at the deadline are aborted: a result poll left behind would retry on the engine's
  // connection after it closes, and grpc throws that from a timer (it ended a run between the engines).
  const abort = new AbortController();
  setMaxListeners(0, abort.signal); // one listener per workflow waited on
  const { client } = run;
  const ended = Promise.allSettled(
    workflowIds.map((id) => client.withAbortSignal(abort.signal, () => client.workflow.getHandle(id).result())),
  );
  const inTime = await Promise.race([ended.then(() => true), sleep(120_000, false, { ref: false })]);
  abort.abort();
  if (!inTime) run.log(`some of ${workflowIds.length} workflows still running 2 min after their calls ended`);
}

/** The floor: signal → workflow task → activity → HTTP, signalled from this process (by name: see floor-workflow.ts). */
async function measureFloor(run: EngineRun, bundlePath: string, callers: number[]): Promise<BenchRow[]> {
  const { client, engine } = run;
  const taskQueue = `bench-floor-${randomUUID()}`;
  const worker = await startChild(
    'floor-worker.ts',
    {
      ...run.carrierEnv,
      TEMPORAL_ADDRESS: engine.address,
      TEMPORAL_TASK_QUEUE: taskQueue,
      WORKFLOW_BUNDLE_PATH: bundlePath,
    },
    run.childLog,
  );
  try {
    const signal = (workflowId: string, action: string) =>
      client.workflow.getHandle(workflowId).signal('action', action);
    return await measure(
      {
        name: 'floor',
        engine: engine.name,
        prepare: (callId, step) =>
          step.action === 'answer'
            ? async () =>
                void (await client.workflow.signalWithStart('floorWorkflow', {
                  workflowId: callId,
                  taskQueue,
                  args: [callId],
                  signal: 'action',
                  signalArgs: [step.action],
                }))
            : () => signal(callId, step.action),
        end: async (callIds) => {
          await Promise.allSettled(callIds.map((id) => signal(id, 'end')));
          await waitEnded(run, callIds);
        },
        processes: { bench: process.pid, worker: worker.pid, ...engine.processes },
        // Signals 1-3 are the reactions' events (0 starts the call, 4 ends it).
        historyEventsPerReaction: (callIds) => historyEventsPerReaction(client, callIds, 1, 3),
      },
      run.carrier,
      callers,
      run.log,
    );
  } finally {
    await worker.stop();
  }
}

/** durable-calls: the real gateway and worker running the default IVR (the caller presses 2). */
async function measureDurableCalls(run: EngineRun, callers: number[]): Promise<BenchRow[]> {
  const { client, engine } = run;
  const stack = await startStack({
    temporalAddress: engine.address,
    workflowBundlePath: run.sessionBundlePath,
    gatewayPort: await freePort(),
    env: {
      ...run.carrierEnv,
      TEMPORAL_TASK_QUEUE: `bench-durable-${randomUUID()}`,
      LOG_LEVEL: 'warn',
      HOST: '127.0.0.1',
    },
    log: run.childLog,
  });
  const sender = webhookSender(`${stack.gatewayUrl}/webhooks/telnyx`, run.signingKey);
  const workflowIds = (callIds: string[]) => callIds.map((id) => inboundCallWorkflowId('telnyx', id));
  try {
    return await measure(
      {
        name: 'durable-calls',
        engine: engine.name,
        // Telnyx echoes the last command's client_state on the leg's webhooks.
        prepare: (callId, step, clientState) =>
          sender.prepare(step.event, callId, clientState ? { ...step.extra, client_state: clientState } : step.extra),
        end: async (callIds) => {
          // The caller hangs up during the voicemail, then the recording is saved: the session ends.
          await Promise.allSettled(
            callIds.map(async (id) => {
              await sender.prepare('call.hangup', id, {
                hangup_cause: 'normal_clearing',
                hangup_source: 'caller',
                state: 'hangup',
              })();
              await sender.prepare('call.recording.saved', id, {
                recording_urls: { mp3: 'https://example.invalid/r.mp3' },
              })();
            }),
          );
          await waitEnded(run, workflowIds(callIds));
        },
        processes: {
          bench: process.pid,
          worker: stack.worker.child.pid!,
          gateway: stack.gateway.child.pid!,
          ...engine.processes,
        },
        // Signals 1-3 are the reactions' events (0 starts the session, 4 is the hang-up).
        historyEventsPerReaction: (callIds) => historyEventsPerReaction(client, workflowIds(callIds), 1, 3),
      },
      run.carrier,
      callers,
      run.log,
    );
  } finally {
    await sender.close();
    await stack.stop();
  }
}

function report(rows: BenchRow[], env: { loadBefore: string; loadAfter: string; engines: string[] }): void {
  const sdk = (
    JSON.parse(readFileSync(path.join(ROOT, 'node_modules/@temporalio/worker/package.json'), 'utf8')) as {
      version: string;
    }
  ).version;
  console.log(`
durable-calls benchmark${QUICK ? ' (BENCH_QUICK: smoke run, not figures)' : ''}, ${new Date().toISOString()}, code at ${gitRevision()}
machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}; load average before ${env.loadBefore}, after ${env.loadAfter}
node ${process.version}, @temporalio/* ${sdk}
${env.engines.map((line) => `engine ${line}`).join('\n')}

Reaction, ms: carrier event in → next command at the carrier (call.answered → gather_using_speak,
call.gather.ended → speak, call.speak.ended → record_start). load = callers up at once, each pausing
${PAUSE_MS.map((v) => v / 1000).join('-')} s before each of its events. ×floor = p99 over the floor's on the same engine and load.
start99 = call start p99 (call.initiated → answer). cmds/s = commands per second offered (pauses included).
ev/r = history events per reaction (signal of the event to the next signal, ${HISTORY_SAMPLE} calls a level).
Then CPU ms per command of each process (with its children, e.g. PostgreSQL's backends) and their total;
other = cores busy with processes outside this benchmark meanwhile (other users' load), of ${cpus().length}.

${formatTable(rows)}

${formatCeilings(rows)}`);
}

/** The commit the code under test is at, and whether the working tree differs from it. */
function gitRevision(): string {
  try {
    const git = (...args: string[]) => execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' }).trim();
    const changed = git('status', '--porcelain', '--untracked-files=no').split('\n').filter(Boolean).length;
    return `${git('rev-parse', '--short', 'HEAD')}${changed ? ` + ${changed} uncommitted file changes` : ''}`;
  } catch {
    return 'unknown revision';
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
