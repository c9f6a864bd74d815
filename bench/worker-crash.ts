import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { cpus } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { startDevServer } from '../src/dev/dev-server';
import { startStack, type Stack } from '../src/dev/stack';
import { freePorts } from '../test/support/net';
import { bundleWorkflowsToFile } from '../worker/bundle';
import { captureCarrier, loadAverage, percentile, ROOT, webhookSender, type CaptureCarrier } from './support';

/**
 * What a worker crash and a worker deploy cost a caller: the silence between a carrier event and the next
 * command while the worker that ran the call dies (SIGKILL, a new worker started at once, as `npm start`
 * does) or is replaced (a new worker first, then SIGTERM to the old one). Each case runs with our timeouts
 * and with the SDK's defaults (sticky schedule-to-start 10 s, workflow task timeout 10 s) for comparison.
 * `npm run bench:worker-crash`. Prints one table.
 */

const CALLS = Number(process.env.BENCH_CALLS || 20);

type Send = ReturnType<typeof webhookSender>;

interface Case {
  label: string;
  env: NodeJS.ProcessEnv;
  /** What happens to the worker while the calls' next events are on their way. */
  disrupt(stack: Stack): Promise<void>;
}

const OURS = {};
const SDK_DEFAULTS = { WORKER_STICKY_TIMEOUT_MS: '10000', SESSION_TASK_TIMEOUT_MS: '10000' };

const crash = async (stack: Stack) => {
  const dying = stack.worker;
  // The events are already on their way: some of their workflow tasks are running on the worker we kill.
  await dying.kill();
  await stack.startWorker('worker-after-crash');
};
const deploy = async (stack: Stack) => {
  await stack.startWorker('worker-new-version');
  await stack.worker.stop();
};

const CASES: Case[] = [
  { label: 'SIGKILL, our timeouts', env: OURS, disrupt: crash },
  { label: 'SIGKILL, SDK defaults', env: SDK_DEFAULTS, disrupt: crash },
  { label: 'SIGTERM deploy, our timeouts', env: OURS, disrupt: deploy },
];

/** Answers `CALLS` calls up to their menu, then sends every call's next event while the worker is disrupted. */
async function runCase(
  c: Case,
  base: {
    address: string;
    bundle: string;
    carrierEnv: NodeJS.ProcessEnv;
    privateKey: Parameters<typeof webhookSender>[1];
  },
  carrier: CaptureCarrier,
): Promise<number[]> {
  const [gatewayPort] = await freePorts(1);
  const stack = await startStack({
    temporalAddress: base.address,
    workflowBundlePath: base.bundle,
    gatewayPort,
    simulate: [],
    env: { ...base.carrierEnv, ...c.env, TEMPORAL_TASK_QUEUE: `crash-${randomUUID()}`, LOG_LEVEL: 'warn' },
    log: () => undefined,
  });
  const sender: Send = webhookSender(`${stack.gatewayUrl}/webhooks/telnyx`, base.privateKey);
  try {
    const callIds = Array.from({ length: CALLS }, () => `crash-${randomUUID()}`);
    const clientStates = new Map<string, unknown>();
    // Each call answered and in its menu, with its session cached on the worker that is about to go.
    await Promise.all(
      callIds.map(async (id) => {
        const answer = carrier.expect(id, 'answer');
        await sender.prepare('call.initiated', id, { direction: 'incoming', state: 'parked' })();
        const menu = carrier.expect(id, 'gather_using_speak');
        await sender.prepare('call.answered', id, {
          state: 'answered',
          client_state: (await answer).body.client_state,
        })();
        clientStates.set(id, (await menu).body.client_state);
      }),
    );
    await sleep(500);
    // Every caller presses 2 now; the worker is disrupted a moment later, while their tasks run.
    const reactions = callIds.map(async (id) => {
      const next = carrier.expect(id, 'speak', 120_000);
      const t0 = performance.now();
      await sender.prepare('call.gather.ended', id, {
        digits: '2',
        status: 'valid',
        client_state: clientStates.get(id),
      })();
      return (await next).at - t0;
    });
    await sleep(5);
    await c.disrupt(stack);
    return (await Promise.all(reactions)).sort((a, b) => a - b);
  } finally {
    await sender.close();
    await stack.stop();
  }
}

async function main(): Promise<void> {
  const log = (line: string) => console.error(`[worker-crash] ${line}`);
  const dataDir = path.join(ROOT, '.data', `bench-crash-${Date.now()}`);
  const [temporalPort] = await freePorts(1);
  const server = await startDevServer({
    port: temporalPort,
    uiPort: 'headless',
    dbFile: path.join(dataDir, 'temporal.sqlite'),
    log,
    projectRoot: ROOT,
  });
  const carrier = await captureCarrier();
  try {
    const account = generateKeyPairSync('ed25519');
    const der = account.publicKey.export({ format: 'der', type: 'spki' });
    const base = {
      address: server.address,
      bundle: await bundleWorkflowsToFile(path.join(dataDir, 'workflow-bundle.js')),
      carrierEnv: {
        TELNYX_API_KEY: 'KEY-bench',
        TELNYX_PUBLIC_KEY: der.subarray(der.length - 32).toString('base64'),
        TELNYX_API_BASE_URL: carrier.baseUrl,
      },
      privateKey: account.privateKey,
    };
    const loadBefore = loadAverage();
    const rows: string[] = [];
    for (const c of CASES) {
      log(`${c.label} ...`);
      const r = await runCase(c, base, carrier);
      const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
      rows.push(
        `| ${c.label} | ${r.length} | ${s(percentile(r, 0.5))} | ${s(percentile(r, 0.99))} | ${s(r[r.length - 1])} |`,
      );
    }
    console.log(`worker crash and deploy: silence a caller hears (carrier event → next command), ${CALLS} calls each`);
    console.log(`machine: ${cpus().length} cores, load before ${loadBefore}, after ${loadAverage()}`);
    console.log('| case | calls | p50 | p99 | max |\n| --- | --- | --- | --- | --- |');
    for (const row of rows) console.log(row);
  } finally {
    await carrier.close();
    await server.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
