import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { request } from 'undici';
import { bundleWorkflowsToFile } from '../worker/bundle';
import { inboundCallWorkflowId, type CallOutcome, type CallState, type Provider } from './calls';
import { startDevServer, type DevServer } from './dev/dev-server';
import { SIMULATORS } from './dev/simulators';
import { startStack } from './dev/stack';
import type { AgentScript, CallerScript } from './simulator/scripts';
import { freePorts } from './dev/ports';

/**
 * Tests for your own flows against the real thing: a Temporal dev server, the worker with your flows, the gateway
 * and a carrier simulator, each its own process, on free loopback ports and a throw-away folder. Callers are
 * scripted (`CallerScript`: who dials which number, which digits they press, when they hang up).
 */

export type { AgentScript, CallerScript, CallOutcome, CallState };

export interface TestStackOptions {
  /** A module whose exported functions are your flows. */
  flowsPath?: string;
  /** Your routing table (dialed number → flow). Default: the built-in `config/routes.json`. */
  routingTablePath?: string;
  /** The carrier to simulate. Default: telnyx. */
  carrier?: Provider;
  /** Simulated durations × this (prompts, rings). Default 0.25: tests run four times faster than a real call. */
  timeScale?: number;
  /** Agents at the numbers your flows dial (`SIMULATOR_AGENTS`). */
  agents?: Record<string, AgentScript>;
  /** An existing Temporal (host:port) instead of a dev server of the stack's own. */
  temporalAddress?: string;
  /** Extra environment for the parts (see the README's table of variables). */
  env?: NodeJS.ProcessEnv;
}

export interface PlacedCall {
  /** The carrier's id of the call. */
  callId: string;
  /** The call's session in Temporal (`call:<carrier>:<call id>`). */
  workflowId: string;
}

export interface TestStack {
  gatewayUrl: string;
  /** The simulated carrier's base URL (its `/_sim/` control API). */
  simulatorUrl: string;
  client: Client;
  /** Every line the parts printed: show them when a test fails. */
  output: string[];
  /** A scripted caller dials in through the simulated carrier. */
  placeCall(script: CallerScript): Promise<PlacedCall>;
  /** The session's result once the call has ended. */
  outcome(workflowId: string): Promise<CallOutcome>;
  /** The session's live state (the `state` query). */
  state(workflowId: string): Promise<CallState>;
  /** Stops every part and deletes the stack's folder. */
  close(): Promise<void>;
}

export async function startTestStack(options: TestStackOptions = {}): Promise<TestStack> {
  const carrier = options.carrier ?? 'telnyx';
  const dir = mkdtempSync(path.join(tmpdir(), 'durable-calls-test-'));
  const output: string[] = [];
  const log = (line: string) => output.push(line);
  const [gatewayPort, temporalPort] = await freePorts(2);
  let server: DevServer | undefined;
  const parts: { close(): Promise<void> }[] = [];
  try {
    let temporalAddress = options.temporalAddress;
    if (!temporalAddress) {
      server = await startDevServer({
        dbFile: path.join(dir, 'temporal.sqlite'),
        port: temporalPort,
        uiPort: 'headless',
        log,
        projectRoot: process.cwd(),
      });
      temporalAddress = server.address;
    }
    const stack = await startStack({
      temporalAddress,
      workflowBundlePath: await bundleWorkflowsToFile(path.join(dir, 'workflow-bundle.js'), {
        flowsPath: options.flowsPath,
      }),
      gatewayPort,
      simulatorPort: 0,
      simulatorTimeScale: options.timeScale ?? 0.25,
      simulate: [carrier],
      env: {
        LOG_LEVEL: 'warn',
        LOG_FORMAT: 'json',
        DATA_DIR: dir,
        ...(options.routingTablePath && { ROUTING_TABLE_PATH: path.resolve(options.routingTablePath) }),
        ...(options.agents && { SIMULATOR_AGENTS: JSON.stringify(options.agents) }),
        ...options.env,
      },
      log,
    });
    parts.push({ close: () => stack.stop() });
    const connection = await Connection.connect({ address: temporalAddress });
    parts.push({ close: () => connection.close() });
    const client = new Client({ connection });
    const simulatorUrl = stack.simulatorUrls[carrier] ?? '';
    return {
      gatewayUrl: stack.gatewayUrl,
      simulatorUrl,
      client,
      output,
      async placeCall(script) {
        const placed = await postJson<Record<string, string>>(`${simulatorUrl}/_sim/calls`, script);
        const callId = placed[SIMULATORS[carrier].callIdField] ?? '';
        return { callId, workflowId: inboundCallWorkflowId(carrier, callId) };
      },
      async outcome(workflowId) {
        const handle = client.workflow.getHandle(workflowId);
        // The gateway starts the session when the call's first webhook arrives, a moment after the call is placed.
        await eventually(() => handle.describe().then(() => true));
        return (await handle.result()) as CallOutcome;
      },
      state: (workflowId) => client.workflow.getHandle(workflowId).query<CallState>('state'),
      close: () => closeAll(parts, server, dir),
    };
  } catch (err) {
    await closeAll(parts, server, dir);
    throw new Error(`the test stack did not start: ${(err as Error).message}\n${output.join('\n')}`);
  }
}

async function closeAll(parts: { close(): Promise<void> }[], server: DevServer | undefined, dir: string) {
  for (const part of parts.reverse()) await part.close();
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
}

async function postJson<T>(url: string, body: unknown): Promise<T> {
  const res = await request(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await res.body.text();
  if (res.statusCode >= 300) throw new Error(`${url}: HTTP ${res.statusCode} ${text}`);
  return JSON.parse(text) as T;
}

async function eventually(check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
