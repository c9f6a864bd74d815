import { setTimeout as sleep } from 'node:timers/promises';
import { loadAverage, rssMiB } from './support';
import { hangUpCalls, inBatches, startBenchStack, startLiveCall, type BenchStack } from './live-sessions';

/**
 * Memory per cached session: the worker's RSS with no call up (after a warm-up) and with `sessions` calls live
 * at the IVR menu, every one of them in the worker's cache. The difference over `sessions` is what a session
 * costs the worker; WORKER_CACHED_SESSIONS × that (plus the base) is the memory a worker needs.
 *
 *   npx ts-node bench/session-memory.ts [--sessions=1000]
 *
 * TEMPORAL_ADDRESS: against that Temporal; unset, a fresh dev server.
 */

export interface SessionMemoryResult {
  sessions: number;
  /** Worker RSS (MiB) after the warm-up calls ended, and with `sessions` calls live. */
  baseRssMiB: number;
  liveRssMiB: number;
  /** (live − base) / sessions, KiB. */
  perSessionKiB: number;
}

export async function measureSessionMemory(
  bench: BenchStack,
  options: { sessions: number; concurrency?: number; log?: (line: string) => void },
): Promise<SessionMemoryResult> {
  const log = options.log ?? (() => undefined);
  const workerPid = bench.stack.worker.child.pid!;
  const prefix = `mem-${Date.now().toString(36)}`;
  // Warm-up: the workflow code loaded, JIT warm, pools open; these sessions end and leave the cache.
  const warmIds = Array.from({ length: 20 }, (_, i) => `${prefix}-warm-${i}`);
  await inBatches(warmIds, 10, (callId) => startLiveCall(bench, callId));
  await hangUpCalls(bench, warmIds);
  await sleep(3000);
  const baseRssMiB = rssMiB(workerPid);

  const callIds = Array.from({ length: options.sessions }, (_, i) => `${prefix}-${i}`);
  await inBatches(callIds, options.concurrency ?? 20, async (callId, i) => {
    await startLiveCall(bench, callId);
    if ((i + 1) % 500 === 0) log(`${i + 1} live calls`);
  });
  // Settle: the last tasks completed, garbage of the ramp collected where V8 wants to.
  await sleep(5000);
  const liveRssMiB = rssMiB(workerPid);
  await hangUpCalls(bench, callIds);
  return {
    sessions: options.sessions,
    baseRssMiB: Math.round(baseRssMiB),
    liveRssMiB: Math.round(liveRssMiB),
    perSessionKiB: Math.round(((liveRssMiB - baseRssMiB) * 1024) / options.sessions),
  };
}

async function main(): Promise<void> {
  const arg = process.argv.find((a) => a.startsWith('--sessions='));
  const sessions = arg ? Number(arg.slice('--sessions='.length)) : 1000;
  const log = (line: string) => console.error(`[session-memory] ${line}`);
  const bench = await startBenchStack({
    temporalAddress: process.env.TEMPORAL_ADDRESS,
    // Every session stays cached, and nothing else is measured.
    env: { WORKER_CACHED_SESSIONS: String(sessions + 100) },
    log: () => undefined,
  });
  try {
    const result = await measureSessionMemory(bench, { sessions, log });
    console.log(JSON.stringify({ ...result, loadAverage: loadAverage() }));
    console.log(
      `worker RSS ${result.baseRssMiB} MiB with no call up, ${result.liveRssMiB} MiB with ${sessions} live sessions ` +
        `→ ${result.perSessionKiB} KiB per cached session`,
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
