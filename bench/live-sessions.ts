import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { startDevServer } from '../src/dev/dev-server';
import { freePort } from '../src/dev/ports';
import { startStack, type Stack } from '../src/dev/stack';
import { bundleWorkflowsToFile } from '../worker/bundle';
import { percentile, ROOT, webhookSender } from './support';

/**
 * What the sizing benchmarks (call-start.ts, session-memory.ts, ingress.ts) share: a durable-calls stack (one
 * gateway, one worker) against TEMPORAL_ADDRESS or a fresh dev server, a stand-in Telnyx API, and calls driven
 * with signed webhooks up to the IVR menu, where each stays live (a cached session waiting for the caller's digit).
 */

/**
 * A stand-in Telnyx REST API: answers every command as Telnyx does on success and every status request with a
 * live call (so the sessions' liveness probes keep them up), and notes when each command arrives.
 */
export interface StandInTelnyx {
  baseUrl: string;
  /** Resolves with the arrival time (`performance.now()`) and body of the next `action` for `callId`. */
  expect(callId: string, action: string, timeoutMs?: number): Promise<{ at: number; body: Record<string, unknown> }>;
  close(): Promise<void>;
}

export async function standInTelnyx(): Promise<StandInTelnyx> {
  const waiters = new Map<string, (arrival: { at: number; body: Record<string, unknown> }) => void>();
  const server = http.createServer((req, res) => {
    const at = performance.now();
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      if (req.method === 'GET') return void res.end('{"data":{"is_alive":true,"state":"answered"}}');
      res.end('{"data":{"result":"ok"}}');
      const match = /\/calls\/([^/]+)\/actions\/([^/?]+)/.exec(req.url ?? '');
      const waiter = match && waiters.get(`${decodeURIComponent(match[1])} ${match[2]}`);
      if (!waiter) return;
      waiters.delete(`${decodeURIComponent(match[1])} ${match[2]}`);
      const body = Buffer.concat(chunks).toString('utf8');
      waiter({ at, body: body ? (JSON.parse(body) as Record<string, unknown>) : {} });
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/v2`,
    expect(callId, action, timeoutMs = 60_000) {
      return new Promise((resolve, reject) => {
        const key = `${callId} ${action}`;
        const timer = setTimeout(() => {
          waiters.delete(key);
          reject(new Error(`no ${action} for ${callId} within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.set(key, (arrival) => {
          clearTimeout(timer);
          resolve(arrival);
        });
      });
    },
    close() {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export interface BenchStackOptions {
  /** An existing Temporal (e.g. `npm run cluster`'s); unset: a fresh dev server on a SQLite file, deleted after. */
  temporalAddress?: string;
  /** Extra environment for the gateway and worker (WORKER_CACHED_SESSIONS, ...). */
  env?: NodeJS.ProcessEnv;
  log?: (line: string) => void;
}

export interface BenchStack {
  temporalAddress: string;
  gatewayUrl: string;
  /** The running gateway and worker (pids for RSS and CPU, `worker.stop()` to take the worker away). */
  stack: Stack;
  carrier: StandInTelnyx;
  /** Signed Telnyx webhooks to the gateway. */
  sender: ReturnType<typeof webhookSender>;
  /** The Telnyx account key pair the gateway verifies against. */
  privateKey: ReturnType<typeof generateKeyPairSync>['privateKey'];
  stop(): Promise<void>;
}

/** A gateway and a worker on their own task queue, with a stand-in Telnyx; nothing else shares the task queue. */
export async function startBenchStack(options: BenchStackOptions = {}): Promise<BenchStack> {
  const log = options.log ?? ((line: string) => console.error(line));
  const dataDir = path.join(ROOT, '.data', `bench-sizing-${Date.now()}`);
  const cleanups: (() => Promise<unknown>)[] = [];
  const stop = async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup().catch((err: Error) => log(`cleanup: ${err.message}`));
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    let temporalAddress = options.temporalAddress;
    if (!temporalAddress) {
      const server = await startDevServer({
        port: await freePort(),
        uiPort: 'headless',
        dbFile: path.join(dataDir, 'temporal.sqlite'),
        log,
        projectRoot: ROOT,
      });
      cleanups.unshift(() => server.stop());
      temporalAddress = server.address;
    }
    const carrier = await standInTelnyx();
    cleanups.unshift(() => carrier.close());
    const account = generateKeyPairSync('ed25519');
    const der = account.publicKey.export({ format: 'der', type: 'spki' });
    const gatewayPort = await freePort();
    const stack = await startStack({
      temporalAddress,
      workflowBundlePath: await bundleWorkflowsToFile(path.join(dataDir, 'workflow-bundle.js')),
      gatewayPort,
      simulate: [],
      env: {
        TELNYX_API_KEY: 'KEY-bench',
        // As the Telnyx portal shows it: base64 of the 32 raw bytes.
        TELNYX_PUBLIC_KEY: der.subarray(der.length - 32).toString('base64'),
        TELNYX_API_BASE_URL: carrier.baseUrl,
        TEMPORAL_TASK_QUEUE: `bench-sizing-${randomUUID()}`,
        LOG_LEVEL: 'warn',
        HOST: '127.0.0.1',
        ...options.env,
      },
      log,
    });
    cleanups.unshift(() => stack.stop());
    const sender = webhookSender(`${stack.gatewayUrl}/webhooks/telnyx`, account.privateKey);
    cleanups.unshift(() => sender.close());
    return {
      temporalAddress,
      gatewayUrl: stack.gatewayUrl,
      stack,
      carrier,
      sender,
      privateKey: account.privateKey,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * Starts one call and leaves it live at the IVR menu: `call.initiated` → (answer) → `call.answered` →
 * (gather_using_speak). Resolves with the call start (ms from the first webhook to the answer command).
 */
export async function startLiveCall(bench: BenchStack, callId: string): Promise<number> {
  const answered = bench.carrier.expect(callId, 'answer');
  const sentAt = performance.now();
  await bench.sender.prepare('call.initiated', callId, { direction: 'incoming', state: 'parked' })();
  const answer = await answered;
  const menu = bench.carrier.expect(callId, 'gather_using_speak');
  // Telnyx echoes the last command's client_state on the leg's webhooks.
  const clientState = answer.body.client_state as string | undefined;
  await bench.sender.prepare('call.answered', callId, { state: 'answered', client_state: clientState })();
  await menu;
  return answer.at - sentAt;
}

/** Ends live calls as a caller hanging up does (so a shared Temporal is not left with thousands of sessions). */
export async function hangUpCalls(bench: BenchStack, callIds: readonly string[], concurrency = 20): Promise<void> {
  await inBatches(callIds, concurrency, (callId) =>
    bench.sender.prepare('call.hangup', callId, {
      hangup_cause: 'normal_clearing',
      hangup_source: 'caller',
      state: 'hangup',
    })(),
  );
}

/** Runs `task` over `items`, at most `concurrency` at a time; rejects on the first failure. */
export async function inBatches<T>(
  items: readonly T[],
  concurrency: number,
  task: (item: T, index: number) => Promise<unknown>,
): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const index = next++;
      await task(items[index], index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, lane));
}

/** `{ n, p50, p90, p99, max }` of samples in ms, rounded to 0.1 ms. */
export function summary(samples: readonly number[]): { n: number; p50: number; p90: number; p99: number; max: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => Math.round(percentile(sorted, q) * 10) / 10;
  return { n: sorted.length, p50: at(0.5), p90: at(0.9), p99: at(0.99), max: at(1) };
}
