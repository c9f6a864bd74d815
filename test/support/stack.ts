import { existsSync } from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { request } from 'undici';
import {
  inboundCallWorkflowId,
  receivedFaxWorkflowId,
  type CallOutcome,
  type CallState,
  type Provider,
} from '../../src/calls';
import { startStack, type Stack } from '../../src/dev/stack';
import type { JambonzCallRecord, JambonzCommandLogEntry, JambonzHookDelivery } from '../../src/simulator/jambonz/types';
import type {
  InboundFaxScript,
  SignalWireCallRecord,
  SignalWireCommandLogEntry,
  SignalWireDelivery,
} from '../../src/simulator/signalwire/types';
import type {
  CallerScript,
  CommandLogEntry,
  DeliveredWebhook,
  SimCallRecord,
  TelnyxInboundFaxScript,
  TelnyxSimFax,
} from '../../src/simulator/telnyx/types';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
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
  state(workflowId: string): Promise<CallState>;
  /** The session's result, once the gateway has started it (webhooks may still be on their way). */
  outcome(workflowId: string): Promise<CallOutcome>;
  /** The Telnyx simulator's control API (when the stack simulates Telnyx). */
  telnyx: TelnyxSimControl;
  /** The SignalWire simulator's control API (when the stack simulates SignalWire). */
  signalwire: SignalWireSimControl;
  /** The jambonz simulator's control API (when the stack simulates jambonz). */
  jambonz: JambonzSimControl;
  close(): Promise<void>;
}

export interface TelnyxSimControl {
  /** A scripted caller dials in; its session is `call:telnyx:<call_control_id>`. */
  placeCall(script: CallerScript): Promise<{ callControlId: string; workflowId: string }>;
  call(callControlId: string): Promise<SimCallRecord>;
  /** Resolves once the call ended and all its webhooks were delivered or given up. */
  waitForEnd(callControlId: string, timeoutMs?: number): Promise<SimCallRecord>;
  /** Every Call Control request the simulator received. */
  commands(): Promise<CommandLogEntry[]>;
  /** Every webhook the simulator sent, with its outcome. */
  webhooks(): Promise<DeliveredWebhook[]>;
  /** Every fax sent through the simulated Programmable Fax API. */
  faxes(): Promise<TelnyxSimFax[]>;
  /** A fax machine faxes one of our numbers; its workflow is `fax:telnyx:in:<fax_id>`. */
  receiveFax(script: TelnyxInboundFaxScript): Promise<{ faxId: string; workflowId: string }>;
}

export interface SignalWireSimControl {
  readonly baseUrl: string;
  /** A scripted caller dials in; its session is `call:signalwire:<call_id>`. */
  placeCall(script: CallerScript): Promise<{ callId: string; workflowId: string }>;
  /** A fax machine dials one of our numbers. */
  placeFax(script: InboundFaxScript): Promise<{ callId: string; workflowId: string }>;
  call(callId: string): Promise<SignalWireCallRecord>;
  calls(): Promise<SignalWireCallRecord[]>;
  /** Resolves once the call ended and all its status callbacks were delivered or given up. */
  waitForEnd(callId: string, timeoutMs?: number): Promise<SignalWireCallRecord>;
  /** Every Calling API request the simulator received, with the status it answered (422: not valid by the spec). */
  commands(): Promise<SignalWireCommandLogEntry[]>;
  /** Every SWML fetch and status callback the simulator sent, with its outcome and spec errors. */
  webhooks(): Promise<SignalWireDelivery[]>;
}

export interface JambonzSimControl {
  /** A scripted caller dials in; its session is `call:jambonz:<call_sid>`. */
  placeCall(script: CallerScript): Promise<{ callSid: string; workflowId: string }>;
  call(callSid: string): Promise<JambonzCallRecord>;
  calls(): Promise<JambonzCallRecord[]>;
  /** Resolves once the call ended and all its hooks were answered or failed. */
  waitForEnd(callSid: string, timeoutMs?: number): Promise<JambonzCallRecord>;
  /** Every REST request the simulated api server received (Live Call Control, createCall, reads). */
  commands(): Promise<JambonzCommandLogEntry[]>;
  /** Every hook the simulated feature server sent, with its answer. */
  webhooks(): Promise<JambonzHookDelivery[]>;
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

export async function startTestStack(
  options: {
    timeScale?: number;
    env?: NodeJS.ProcessEnv;
    simulate?: Provider[];
    /** Another Temporal than the run's dev server (the failover test's cluster). */
    temporalAddress?: string;
    gateways?: number;
    workers?: number;
  } = {},
): Promise<TestStack> {
  const [gatewayPort] = await freePorts(1);
  const output: string[] = [];
  const temporalAddress = options.temporalAddress ?? testServerAddress();
  const stack = await startStack({
    temporalAddress,
    gateways: options.gateways,
    workers: options.workers,
    workflowBundlePath: await testWorkflowBundle(),
    gatewayPort,
    simulatorPort: 0,
    simulatorTimeScale: options.timeScale ?? 0.25,
    simulate: options.simulate ?? ['telnyx'],
    env: { LOG_LEVEL: 'warn', ROUTING_TABLE_PATH: path.join(PROJECT_ROOT, 'config', 'routes.json'), ...options.env },
    log: (line) => output.push(line),
  });
  const connection = await Connection.connect({ address: temporalAddress });
  const client = new Client({ connection });
  const sim = stack.simulatorUrls.telnyx ?? '';
  return {
    ...stack,
    client,
    output,
    telnyx: telnyxControl(sim),
    signalwire: signalwireControl(stack.simulatorUrls.signalwire ?? ''),
    jambonz: jambonzControl(stack.simulatorUrls.jambonz ?? ''),
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

function telnyxControl(sim: string): TelnyxSimControl {
  return {
    async placeCall(script) {
      const { call_control_id } = await getJson<{ call_control_id: string }>(`${sim}/_sim/calls`, script);
      return { callControlId: call_control_id, workflowId: inboundCallWorkflowId('telnyx', call_control_id) };
    },
    call: (id) => getJson<SimCallRecord>(`${sim}/_sim/calls/${encodeURIComponent(id)}`),
    waitForEnd: (id, timeoutMs = 60_000) =>
      getJson<SimCallRecord>(`${sim}/_sim/calls/${encodeURIComponent(id)}/ended?timeout_ms=${timeoutMs}`),
    commands: () => getJson<CommandLogEntry[]>(`${sim}/_sim/commands`),
    webhooks: () => getJson<DeliveredWebhook[]>(`${sim}/_sim/webhooks`),
    faxes: () => getJson<TelnyxSimFax[]>(`${sim}/_sim/faxes`),
    async receiveFax(script) {
      const { fax_id } = await getJson<{ fax_id: string }>(`${sim}/_sim/faxes/inbound`, script);
      return { faxId: fax_id, workflowId: receivedFaxWorkflowId('telnyx', fax_id) };
    },
  };
}

function signalwireControl(sim: string): SignalWireSimControl {
  return {
    baseUrl: sim,
    async placeCall(script) {
      const { call_id } = await getJson<{ call_id: string }>(`${sim}/_sim/calls`, script);
      return { callId: call_id, workflowId: inboundCallWorkflowId('signalwire', call_id) };
    },
    async placeFax(script) {
      const { call_id } = await getJson<{ call_id: string }>(`${sim}/_sim/faxes`, script);
      return { callId: call_id, workflowId: inboundCallWorkflowId('signalwire', call_id) };
    },
    call: (callId) => getJson<SignalWireCallRecord>(`${sim}/_sim/calls/${encodeURIComponent(callId)}`),
    calls: () => getJson<SignalWireCallRecord[]>(`${sim}/_sim/calls`),
    waitForEnd: (callId, timeoutMs = 60_000) =>
      getJson<SignalWireCallRecord>(`${sim}/_sim/calls/${encodeURIComponent(callId)}/ended?timeout_ms=${timeoutMs}`),
    commands: () => getJson<SignalWireCommandLogEntry[]>(`${sim}/_sim/commands`),
    webhooks: () => getJson<SignalWireDelivery[]>(`${sim}/_sim/webhooks`),
  };
}

function jambonzControl(sim: string): JambonzSimControl {
  return {
    async placeCall(script) {
      const { call_sid } = await getJson<{ call_sid: string }>(`${sim}/_sim/calls`, script);
      return { callSid: call_sid, workflowId: inboundCallWorkflowId('jambonz', call_sid) };
    },
    call: (callSid) => getJson<JambonzCallRecord>(`${sim}/_sim/calls/${encodeURIComponent(callSid)}`),
    calls: () => getJson<JambonzCallRecord[]>(`${sim}/_sim/calls`),
    waitForEnd: (callSid, timeoutMs = 60_000) =>
      getJson<JambonzCallRecord>(`${sim}/_sim/calls/${encodeURIComponent(callSid)}/ended?timeout_ms=${timeoutMs}`),
    commands: () => getJson<JambonzCommandLogEntry[]>(`${sim}/_sim/commands`),
    webhooks: () => getJson<JambonzHookDelivery[]>(`${sim}/_sim/webhooks`),
  };
}

/**
 * Replays the histories of this run's completed sessions that match `query` against the current workflow
 * code (the worker's own bundle), so a nondeterminism in what the tests just ran fails the test. Returns
 * how many were replayed.
 */
export async function replayCompletedSessions(client: Client, query: string, limit = 50): Promise<number> {
  const ids: string[] = [];
  for await (const wf of client.workflow.list({
    query: `WorkflowType = 'callSessionWorkflow' AND ExecutionStatus = 'Completed' AND ${query}`,
  })) {
    ids.push(wf.workflowId);
    if (ids.length >= limit) break;
  }
  const bundle = await testWorkflowBundle();
  try {
    Runtime.install({ logger: new DefaultLogger('WARN') });
  } catch {
    // installed already by another test in this process
  }
  for (const workflowId of ids) {
    const history = await client.workflow.getHandle(workflowId).fetchHistory();
    await Worker.runReplayHistory({ workflowBundle: { codePath: bundle } }, history, workflowId);
  }
  return ids.length;
}

export { PROJECT_ROOT };
