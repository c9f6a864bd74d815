import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Client, Connection } from '@temporalio/client';
import { callEventSignal, inboundCallWorkflowId, type CallEvent } from '../src/calls';
import { normaliseTelnyxWebhook } from '../src/providers/telnyx';
import { cpuMs, loadAverage } from './support';
import { hangUpCalls, inBatches, startBenchStack, startLiveCall, type BenchStack } from './live-sessions';

/**
 * Gateway ingress against the bare Temporal client: the same events, at the same concurrency, to the same
 * running sessions, once as signed Telnyx webhooks through the gateway (one process: verify, parse, normalise,
 * signal) and once as `client.signal` calls from this process. The worker is stopped first, so neither row pays
 * for the workflow tasks the signals cause; what is left is what Temporal and the sender can take.
 *
 *   npx ts-node bench/ingress.ts [--events=3000] [--concurrency=32] [--sessions=50] [--rounds=2]
 *
 * TEMPORAL_ADDRESS: against that Temporal; unset, a fresh dev server. LOG_LEVEL: the gateway's (default `info`, as
 * in production).
 */

export interface IngressOptions {
  /** Events per row and round. */
  events: number;
  /** Requests in flight at once, in both rows. */
  concurrency: number;
  /** Live sessions the events are spread over. */
  sessions: number;
  /** Rounds of (raw, gateway), alternated so both rows see the same machine. */
  rounds?: number;
  log?: (line: string) => void;
}

export interface IngressResult {
  /** Per round: events per second through the gateway and as raw `client.signal` calls. */
  gatewayPerSecond: number[];
  rawSignalPerSecond: number[];
  /** Sum of the gateway rows over the sum of the raw rows. */
  ratio: number;
  /** The gateway's CPU per event (ms), over its rows; and this process's per raw signal (the bare client's cost). */
  gatewayCpuMsPerEvent: number;
  rawClientCpuMsPerEvent: number;
}

/** A Telnyx event body as the carrier sends it (the fields the normaliser reads). */
function telnyxBody(eventType: string, callId: string): string {
  return JSON.stringify({
    data: {
      record_type: 'event',
      event_type: eventType,
      id: randomUUID(),
      occurred_at: new Date().toISOString(),
      payload: { call_control_id: callId, call_leg_id: `leg-${callId}`, call_session_id: `session-${callId}` },
    },
  });
}

async function rate(count: number, concurrency: number, send: (index: number) => Promise<unknown>): Promise<number> {
  const items = Array.from({ length: count }, (_, i) => i);
  const startedAt = performance.now();
  await inBatches(items, concurrency, (i) => send(i));
  return Math.round((count * 1000) / (performance.now() - startedAt));
}

export async function measureIngress(bench: BenchStack, options: IngressOptions): Promise<IngressResult> {
  const log = options.log ?? (() => undefined);
  const prefix = `in-${Date.now().toString(36)}`;
  const callIds = Array.from({ length: options.sessions }, (_, i) => `${prefix}-${i}`);
  await inBatches(callIds, 10, (callId) => startLiveCall(bench, callId));
  // Signals are taken without a worker: both rows measure the hand-over only.
  await bench.stack.worker.stop();
  const connection = await Connection.connect({ address: bench.temporalAddress });
  const client = new Client({ connection });
  const gatewayPid = bench.stack.gateway.child.pid!;
  const result: IngressResult = {
    gatewayPerSecond: [],
    rawSignalPerSecond: [],
    ratio: 0,
    gatewayCpuMsPerEvent: 0,
    rawClientCpuMsPerEvent: 0,
  };
  let gatewayCpu = 0;
  let rawClientCpu = 0;
  try {
    for (let round = 0; round < (options.rounds ?? 2); round++) {
      const callOf = (i: number) => callIds[i % callIds.length];
      const events: CallEvent[] = Array.from({ length: options.events }, (_, i) => {
        const [event] = normaliseTelnyxWebhook(Buffer.from(telnyxBody('call.speak.started', callOf(i)))).events;
        return event;
      });
      const clientCpuBefore = cpuMs(process.pid);
      const raw = await rate(options.events, options.concurrency, (i) =>
        client.workflow.getHandle(inboundCallWorkflowId('telnyx', callOf(i))).signal(callEventSignal, events[i]),
      );
      rawClientCpu += cpuMs(process.pid) - clientCpuBefore;
      // Signed before the clock starts, as Telnyx signs on its side.
      const posts = Array.from({ length: options.events }, (_, i) =>
        bench.sender.prepare('call.speak.started', callOf(i)),
      );
      const cpuBefore = cpuMs(gatewayPid);
      const gateway = await rate(options.events, options.concurrency, (i) => posts[i]());
      gatewayCpu += cpuMs(gatewayPid) - cpuBefore;
      result.rawSignalPerSecond.push(raw);
      result.gatewayPerSecond.push(gateway);
      log(`round ${round + 1}: raw client.signal ${raw}/s, gateway ${gateway}/s`);
    }
  } finally {
    await connection.close();
  }
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  result.ratio = Math.round((sum(result.gatewayPerSecond) / sum(result.rawSignalPerSecond)) * 100) / 100;
  const perEvent = (cpu: number) => Math.round((cpu / (options.events * result.gatewayPerSecond.length)) * 100) / 100;
  result.gatewayCpuMsPerEvent = perEvent(gatewayCpu);
  result.rawClientCpuMsPerEvent = perEvent(rawClientCpu);
  await hangUpCalls(bench, callIds);
  return result;
}

function flag(name: string, fallback: number): number {
  const arg = process.argv.find((a) => a.startsWith(`--${name}=`));
  return arg ? Number(arg.slice(name.length + 3)) : fallback;
}

async function main(): Promise<void> {
  const log = (line: string) => console.error(`[ingress] ${line}`);
  const bench = await startBenchStack({
    temporalAddress: process.env.TEMPORAL_ADDRESS,
    env: {
      GATEWAY_DRAIN_MS: '0',
      // The gateway logs as it does in production (`info`: a line per request), unless told otherwise.
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
    },
    log: () => undefined,
  });
  try {
    const options = {
      events: flag('events', 3000),
      concurrency: flag('concurrency', 32),
      sessions: flag('sessions', 50),
      rounds: flag('rounds', 2),
    };
    const result = await measureIngress(bench, { ...options, log });
    console.log(JSON.stringify({ ...options, ...result, loadAverage: loadAverage() }));
    console.log(
      `gateway ${result.gatewayPerSecond.join(' / ')} events/s vs raw client.signal ${result.rawSignalPerSecond.join(' / ')}/s ` +
        `→ ${Math.round(result.ratio * 100)}%; CPU per event: gateway ${result.gatewayCpuMsPerEvent} ms, ` +
        `raw client ${result.rawClientCpuMsPerEvent} ms`,
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
