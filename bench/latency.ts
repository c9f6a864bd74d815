import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import { inboundCallWorkflowId } from '../src/calls';
import { startDevServer } from '../src/dev/dev-server';
import { startStack } from '../src/dev/stack';
import { freePorts } from '../test/support/net';
import { bundleWorkflowsToFile } from '../worker/bundle';
import {
  captureCarrier,
  cpuMs,
  loadAverage,
  machineBusyMs,
  percentile,
  ROOT,
  rssMiB,
  startChild,
  webhookSender,
  type CaptureCarrier,
} from './support';

/**
 * Reaction time (carrier event in → next carrier command out) of three systems on this machine, in one
 * run: no durability (a stateless webhook handler), the floor (a bare Temporal signal → activity → HTTP
 * round trip) and durable-calls (gateway + worker). See bench/README.md. `npm run bench`
 * (BENCH_QUICK=1: a few calls per level, to check that it works).
 */

/** Each simulated call: the first event starts the session, the next three are in-call reactions. */
const STEPS = [
  { event: 'call.initiated', extra: { direction: 'incoming', state: 'parked' }, action: 'answer' },
  { event: 'call.answered', extra: { state: 'answered' }, action: 'gather_using_speak' },
  { event: 'call.gather.ended', extra: { digits: '2', status: 'valid' }, action: 'speak' },
  { event: 'call.speak.ended', extra: { status: 'completed' }, action: 'record_start' },
] as const;
type Step = (typeof STEPS)[number];

/**
 * Load levels. Calls run in waves of `concurrency`. Before each of its events a call pauses a random time
 * in `pauseMs` (its first event too, so arrivals spread out): the prompt playing, the caller deciding.
 * `paced` levels model real callers; the last level has no pauses at all and measures capacity.
 */
interface Level {
  label: string;
  concurrency: number;
  calls: number;
  pauseMs: [number, number];
}
const LEVELS: Level[] = process.env.BENCH_QUICK
  ? [
      { label: 'conc 1', concurrency: 1, calls: 5, pauseMs: [100, 100] },
      { label: 'conc 20 paced', concurrency: 20, calls: 20, pauseMs: [200, 800] },
      { label: 'conc 20 flat-out', concurrency: 20, calls: 20, pauseMs: [0, 0] },
    ]
  : [
      { label: 'conc 1', concurrency: 1, calls: 40, pauseMs: [100, 100] },
      { label: 'conc 50 paced', concurrency: 50, calls: 50, pauseMs: [2000, 8000] },
      { label: 'conc 200 paced', concurrency: 200, calls: 200, pauseMs: [2000, 8000] },
      { label: 'conc 200 flat-out', concurrency: 200, calls: 200, pauseMs: [0, 0] },
    ];
const WARM_UP: Level = { label: 'warm-up', concurrency: 10, calls: 30, pauseMs: [0, 20] };
/** No new wave of calls starts after this long in a level. */
const LEVEL_BUDGET_MS = 30_000;

/** A system under test: how an event reaches it, and how its sessions end between waves. */
interface System {
  name: string;
  /** Readies `step` of call `callId`; the returned function delivers it (the timer starts just before). */
  prepare(callId: string, step: Step, clientState: unknown): () => Promise<void>;
  /** Ends the calls of a wave and waits until their sessions are gone. */
  end(callIds: string[]): Promise<void>;
  /** Processes whose CPU and memory are reported, by name. */
  processes: Record<string, number>;
}

interface LevelResult {
  system: string;
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
  /** Each process's RSS at the end of a wave, while its calls are all still up (max over waves). */
  rssMiB: Record<string, number>;
}

interface SystemResult {
  levels: LevelResult[];
  /** RSS of each process after the warm-up, with no call active. */
  idleRssMiB: Record<string, number>;
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

const mapValues = (pids: Record<string, number>, fn: (pid: number) => number) =>
  Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, fn(pid)]));

/** Waves of `level.concurrency` calls at once, until `level.calls` calls or the time budget. */
async function runLevel(system: System, carrier: CaptureCarrier, level: Level): Promise<LevelResult> {
  const result: LevelResult = {
    system: system.name,
    level,
    calls: 0,
    starts: [],
    reactions: [],
    errors: [],
    busyMs: 0,
    cpuMs: {},
    otherCpuMs: 0,
    rssMiB: {},
  };
  const deadline = Date.now() + LEVEL_BUDGET_MS;
  while (result.calls < level.calls && Date.now() < deadline) {
    const callIds = Array.from(
      { length: Math.min(level.concurrency, level.calls - result.calls) },
      () => `v3:bench-${randomUUID()}`,
    );
    const cpuBefore = mapValues(system.processes, cpuMs);
    const machineBefore = machineBusyMs();
    const started = performance.now();
    await Promise.all(
      callIds.map((id) =>
        runCall(system, carrier, id, result).catch((err: Error) => void result.errors.push(err.message)),
      ),
    );
    result.busyMs += performance.now() - started;
    let ours = 0;
    for (const [name, pid] of Object.entries(system.processes)) {
      const used = cpuMs(pid) - cpuBefore[name];
      ours += used;
      result.cpuMs[name] = (result.cpuMs[name] ?? 0) + used;
      result.rssMiB[name] = Math.max(result.rssMiB[name] ?? 0, rssMiB(pid));
    }
    result.otherCpuMs += Math.max(0, machineBusyMs() - machineBefore - ours);
    await system.end(callIds);
    result.calls += callIds.length;
  }
  return result;
}

async function measure(system: System, carrier: CaptureCarrier, log: (line: string) => void): Promise<SystemResult> {
  log(`${system.name}: warm-up`);
  await runLevel(system, carrier, WARM_UP);
  const idleRssMiB = mapValues(system.processes, rssMiB);
  const levels: LevelResult[] = [];
  for (const level of LEVELS) {
    log(`${system.name}: ${level.calls} calls, ${level.concurrency} at a time, pauses ${level.pauseMs.join('-')} ms`);
    levels.push(await runLevel(system, carrier, level));
  }
  return { levels, idleRssMiB };
}

async function main(): Promise<void> {
  const log = (line: string) => console.error(`[bench] ${line}`);
  const childOutput: string[] = [];
  const childLog = (line: string) => void childOutput.push(line);
  const dataDir = path.join(ROOT, '.data', `bench-${Date.now()}`);
  const loadBefore = loadAverage();
  const [temporalPort, statelessPort, gatewayPort] = await freePorts(3);
  const account = generateKeyPairSync('ed25519');
  const der = account.publicKey.export({ format: 'der', type: 'spki' });
  const publicKey = der.subarray(der.length - 32).toString('base64'); // as the Telnyx portal shows it

  const cleanups: (() => Promise<unknown>)[] = [];
  const results: SystemResult[] = [];
  let temporalVersion = '?';
  try {
    const server = await startDevServer({
      port: temporalPort,
      uiPort: 'headless',
      dbFile: path.join(dataDir, 'temporal.sqlite'),
      log,
      projectRoot: ROOT,
    });
    cleanups.unshift(() => server.stop());
    temporalVersion = execFileSync(server.binary, ['--version'], { encoding: 'utf8' }).trim();
    const carrier = await captureCarrier();
    cleanups.unshift(() => carrier.close());
    const connection = await Connection.connect({ address: server.address });
    cleanups.unshift(() => connection.close());
    const client = new Client({ connection });
    const waitAll = (workflowIds: string[]) =>
      Promise.all(workflowIds.map((id) => client.workflow.getHandle(id).result()));

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

    // 1. No durability: a stateless handler turns each webhook straight into a command.
    {
      const app = await startChild('stateless-app.ts', { ...carrierEnv, PORT: String(statelessPort) }, childLog);
      cleanups.unshift(() => app.stop());
      const sender = webhookSender(`http://127.0.0.1:${statelessPort}/webhooks/telnyx`, account.privateKey);
      results.push(
        await measure(
          {
            name: 'no durability',
            prepare: (callId, step) => sender.prepare(step.event, callId, step.extra),
            end: async () => undefined,
            processes: { handler: app.pid, bench: process.pid, 'temporal (idle)': server.pid },
          },
          carrier,
          log,
        ),
      );
      await sender.close();
      await app.stop();
    }

    // 2. The floor: signal → workflow task → activity → HTTP, signalled from this process (by name: see floor-workflow.ts).
    {
      const taskQueue = `bench-floor-${randomUUID()}`;
      const worker = await startChild(
        'floor-worker.ts',
        {
          ...carrierEnv,
          TEMPORAL_ADDRESS: server.address,
          TEMPORAL_TASK_QUEUE: taskQueue,
          WORKFLOW_BUNDLE_PATH: floorBundlePath,
        },
        childLog,
      );
      cleanups.unshift(() => worker.stop());
      const signal = (workflowId: string, action: string) =>
        client.workflow.getHandle(workflowId).signal('action', action);
      results.push(
        await measure(
          {
            name: 'floor (Temporal)',
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
              await Promise.all(callIds.map((id) => signal(id, 'end')));
              await waitAll(callIds);
            },
            processes: { temporal: server.pid, worker: worker.pid, bench: process.pid },
          },
          carrier,
          log,
        ),
      );
      await worker.stop();
    }

    // 3. durable-calls: the real gateway and worker running the default IVR (the caller presses 2).
    {
      const stack = await startStack({
        temporalAddress: server.address,
        workflowBundlePath: sessionBundlePath,
        gatewayPort,
        env: {
          ...carrierEnv,
          TEMPORAL_TASK_QUEUE: `bench-durable-${randomUUID()}`,
          LOG_LEVEL: 'warn',
          HOST: '127.0.0.1',
        },
        log: childLog,
      });
      cleanups.unshift(() => stack.stop());
      const sender = webhookSender(`${stack.gatewayUrl}/webhooks/telnyx`, account.privateKey);
      results.push(
        await measure(
          {
            name: 'durable-calls',
            // Telnyx echoes the last command's client_state on the leg's webhooks.
            prepare: (callId, step, clientState) =>
              sender.prepare(
                step.event,
                callId,
                clientState ? { ...step.extra, client_state: clientState } : step.extra,
              ),
            end: async (callIds) => {
              // The caller hangs up during the voicemail, then the recording is saved: the session ends.
              await Promise.all(
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
              await waitAll(callIds.map((id) => inboundCallWorkflowId('telnyx', id)));
            },
            processes: {
              temporal: server.pid,
              worker: stack.worker.child.pid!,
              gateway: stack.gateway.child.pid!,
              bench: process.pid,
            },
          },
          carrier,
          log,
        ),
      );
      await sender.close();
    }
    log(`done; commands nobody waited for: ${carrier.unexpected}`);
  } catch (err) {
    console.error(childOutput.slice(-30).join('\n'));
    throw err;
  } finally {
    for (const cleanup of cleanups) await cleanup().catch((err: Error) => log(`cleanup: ${err.message}`));
    rmSync(dataDir, { recursive: true, force: true });
  }

  report(results, { loadBefore, loadAfter: loadAverage(), temporalVersion });
  const warnings = childOutput.filter((line) => /warn|error/i.test(line));
  if (warnings.length)
    console.log(
      `\n${warnings.length} warning/error lines from the processes; the last ones:\n${warnings.slice(-5).join('\n')}`,
    );
}

function report(
  results: SystemResult[],
  env: { loadBefore: string; loadAfter: string; temporalVersion: string },
): void {
  const sdk = (
    JSON.parse(readFileSync(path.join(ROOT, 'node_modules/@temporalio/worker/package.json'), 'utf8')) as {
      version: string;
    }
  ).version;
  const ms = (value: number) => (value < 10 ? value.toFixed(1) : value.toFixed(0));
  const sorted = (samples: number[]) => [...samples].sort((a, b) => a - b);
  const pauses = ({ pauseMs: [min, max] }: Level) =>
    max === 0 ? 'none' : min === max ? `${min / 1000}s` : `${min / 1000}-${max / 1000}s`;
  const header = `${'system'.padEnd(17)}${'conc'.padStart(5)}${'pauses'.padStart(10)}${'n'.padStart(6)}${['p50', 'p90', 'p99', 'max'].map((h) => h.padStart(7)).join('')}${'cmds/s'.padStart(8)}${'other'.padStart(7)}  errors`;
  const row = (r: LevelResult, samples: number[]) => {
    const s = sorted(samples);
    const perSecond = ((r.starts.length + r.reactions.length) / r.busyMs) * 1000;
    return (
      `${r.system.padEnd(17)}${String(r.level.concurrency).padStart(5)}${pauses(r.level).padStart(10)}${String(s.length).padStart(6)}` +
      `${[0.5, 0.9, 0.99, 1].map((q) => ms(percentile(s, q)).padStart(7)).join('')}${perSecond.toFixed(0).padStart(8)}` +
      `${(r.otherCpuMs / r.busyMs).toFixed(2).padStart(7)}  ` +
      `${r.errors.length}${r.errors.length ? ` (${r.errors[0]})` : ''}`
    );
  };
  const table = (pick: (r: LevelResult) => number[]) =>
    [
      header,
      ...LEVELS.flatMap((_level, i) => [
        ...(i ? [''] : []),
        ...results.map((r) => row(r.levels[i], pick(r.levels[i]))),
      ]),
    ].join('\n');

  console.log(`
durable-calls latency benchmark, ${new Date().toISOString()}, code at ${gitRevision()}
machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}; load average before ${env.loadBefore}, after ${env.loadAfter}
node ${process.version}, @temporalio/* ${sdk}, ${env.temporalVersion} (dev server, SQLite file)

Reaction time, ms: carrier event in → next command at the carrier, for call.answered → gather_using_speak,
call.gather.ended → speak, call.speak.ended → record_start. conc = calls up at once; pauses = each call's
pause before each of its events; cmds/s = commands per second over the level (pauses included);
other = cores busy with processes outside this benchmark meanwhile (other users' load), of ${cpus().length}.
${table((r) => r.reactions)}

Call start, ms: call.initiated → answer (for durable-calls: signal-with-start of a new session)
${table((r) => r.starts)}
`);

  for (const [i, level] of LEVELS.entries()) {
    const [none, floor, durable] = results.map((r) => percentile(sorted(r.levels[i].reactions), 0.5));
    const signed = (value: number) => `${value >= 0 ? '+' : '−'}${ms(Math.abs(value))} ms`;
    console.log(
      `${level.label.padEnd(18)} durable-calls p50 reaction: ${signed(durable - floor)} vs the floor, ${signed(durable - none)} vs no durability`,
    );
  }

  const busiest = LEVELS.length - 1;
  console.log(`\nAt ${LEVELS[busiest].label}: CPU ms per command and peak RSS of each process`);
  for (const r of results) {
    const level = r.levels[busiest];
    const commands = level.starts.length + level.reactions.length;
    const parts = Object.keys(level.cpuMs).map(
      (name) => `${name} ${(level.cpuMs[name] / commands).toFixed(1)} ms, ${level.rssMiB[name].toFixed(0)} MiB`,
    );
    console.log(`  ${r.levels[busiest].system.padEnd(17)}${parts.join(' · ')}`);
  }
  const durable = results[results.length - 1];
  const idle = durable.idleRssMiB.worker;
  const sessions = Math.max(...LEVELS.map((l) => l.concurrency));
  const peak = Math.max(...durable.levels.filter((l) => l.level.concurrency === sessions).map((l) => l.rssMiB.worker));
  console.log(
    `Memory: durable-calls worker RSS ${idle.toFixed(0)} MiB with no call up (after warm-up), ${peak.toFixed(0)} MiB with ${sessions} ` +
      `sessions up → ~${(((peak - idle) * 1024) / sessions).toFixed(0)} KiB per active session.`,
  );
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
