import { existsSync } from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { request } from 'undici';
import { inboundCallWorkflowId, type CallOutcome, type CallState, type Provider } from '../../src/calls';
import { startStack, type Stack } from '../../src/dev/stack';
import type { CallerScript, CommandLogEntry, DeliveredWebhook, SimCallRecord } from '../../src/simulator/telnyx/types';
import { bundleWorkflowsToFile } from '../../worker/bundle';
import { eventually, freePorts } from './net';
import { PROJECT_ROOT, readTestRun, testServerAddress } from './temporal-server';

/**
 * The real service for end-to-end tests: worker, gateway and Telnyx simulator as separate processes,
 * talking over loopback to the run's Temporal dev server.
 */

/** Workflow code bundled once per test run and shared by every worker the tests start. */
export async function testWorkflowBundle(): Promise<string> {
  const file = path.join(path.dirname(readTestRun().dbFile), 'workflow-bundle.js');
  if (!existsSync(file)) await bundleWorkflowsToFile(file);
  return file;
}

export interface TestStack extends Stack {
  client: Client;
  /** Every line the parts printed, for failure messages. */
  output: string[];
  placeCall(script: CallerScript): Promise<{ callControlId: string; workflowId: string }>;
  simCall(callControlId: string): Promise<SimCallRecord>;
  simCommands(): Promise<CommandLogEntry[]>;
  simWebhooks(): Promise<DeliveredWebhook[]>;
  state(workflowId: string): Promise<CallState>;
  /** The session's result, once the gateway has started it (webhooks may still be on their way). */
  outcome(workflowId: string): Promise<CallOutcome>;
  close(): Promise<void>;
}

async function getJson<T>(url: string, body?: unknown): Promise<T> {
  const res = await request(url, {
    method: body === undefined ? 'GET' : 'POST',
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.body.text();
  if (res.statusCode >= 300) throw new Error(`${url}: HTTP ${res.statusCode} ${text}`);
  return JSON.parse(text) as T;
}

export async function startTestStack(options: { timeScale?: number; env?: NodeJS.ProcessEnv; simulate?: Provider[] } = {}): Promise<TestStack> {
  const [gatewayPort] = await freePorts(1);
  const output: string[] = [];
  const stack = await startStack({
    temporalAddress: testServerAddress(),
    workflowBundlePath: await testWorkflowBundle(),
    gatewayPort,
    simulatorPort: 0,
    simulatorTimeScale: options.timeScale ?? 0.25,
    simulate: options.simulate ?? ['telnyx'],
    env: { LOG_LEVEL: 'warn', ROUTING_TABLE_PATH: path.join(PROJECT_ROOT, 'config', 'routes.json'), ...options.env },
    log: (line) => output.push(line),
  });
  const connection = await Connection.connect({ address: testServerAddress() });
  const client = new Client({ connection });
  const sim = stack.simulatorUrls.telnyx ?? '';
  return {
    ...stack,
    client,
    output,
    async placeCall(script) {
      const { call_control_id } = await getJson<{ call_control_id: string }>(`${sim}/_sim/calls`, script);
      return { callControlId: call_control_id, workflowId: inboundCallWorkflowId('telnyx', call_control_id) };
    },
    simCall: (id) => getJson<SimCallRecord>(`${sim}/_sim/calls/${encodeURIComponent(id)}`),
    simCommands: () => getJson<CommandLogEntry[]>(`${sim}/_sim/commands`),
    simWebhooks: () => getJson<DeliveredWebhook[]>(`${sim}/_sim/webhooks`),
    state: (workflowId) => client.workflow.getHandle(workflowId).query<CallState>('state'),
    async outcome(workflowId) {
      const handle = client.workflow.getHandle(workflowId);
      await eventually(`session ${workflowId} to start`, () => handle.describe().then(() => true), 30_000, 200);
      return (await handle.result()) as CallOutcome;
    },
    async close() {
      await stack.stop();
      await connection.close();
    },
  };
}

export { PROJECT_ROOT };
