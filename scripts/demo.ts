import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { request } from 'undici';
import {
  inboundCallWorkflowId,
  PROVIDERS,
  type CallOutcome,
  type FaxResult,
  type Provider,
  type QueueView,
} from '../src/calls';
import { loadConfig, PROJECT_ROOT } from '../src/config';
import { startDevServer, temporalUiWorkflowUrl, type DevServer } from '../src/dev/dev-server';
import { DEMO_FAX_NUMBER, SIMULATORS } from '../src/dev/simulators';
import { faxCapability } from '../src/providers/carriers';
import { DEMO_QUEUE_AGENTS, type CallerScript } from '../src/simulator/scripts';
import { runningStackFile, startStack, type Stack } from '../src/dev/stack';
import { bundleWorkflowsToFile } from '../worker/bundle';

/**
 * `npm run demo`: three simulated callers through the default IVR on every simulated carrier: one presses 1
 * and talks to an agent, one presses 2 and leaves a message, one hangs up mid-menu; on SignalWire, one fax
 * sent to a simulated fax machine; and the `support` queue (config/queues.json): callers wait, one hangs up
 * while waiting, one presses * for a callback, two agents sign in and answer, and the queue's figures close
 * the run. Each call is printed as it ends. Uses the stack `npm start` runs, or starts its own when none is
 * running.
 */

interface StackInfo {
  gatewayUrl: string;
  simulatorUrls: Stack['simulatorUrls'];
  temporalUiUrl?: string;
  temporalAddress: string;
}

const CALLERS = [
  {
    name: 'presses 1 (agent)',
    script: { from: '+15557770001', to: '+15550001000', presses: ['1'], hangupAfterMs: 15_000 },
  },
  {
    name: 'presses 2 (voicemail)',
    script: { from: '+15557770002', to: '+15550001000', presses: ['2'], voicemail: { talkMs: 3000 } },
  },
  { name: 'hangs up mid-menu', script: { from: '+15557770003', to: '+15550001000', hangupDuringPrompt: 0 } },
];

/** The number the default routing table sends to `supportQueue`, and the queue it uses. */
const SUPPORT_NUMBER = '+15550001200';
const SUPPORT_QUEUE = 'support';
/** The queue's callers, on one carrier; they wait until an agent takes them (agents end the calls). */
const QUEUE_CALLERS = [
  { name: 'waits for an agent', script: { from: '+15557770201', to: SUPPORT_NUMBER } },
  { name: 'waits for an agent', script: { from: '+15557770202', to: SUPPORT_NUMBER } },
  { name: 'waits for an agent', script: { from: '+15557770203', to: SUPPORT_NUMBER } },
  { name: 'hangs up while waiting', script: { from: '+15557770204', to: SUPPORT_NUMBER, hangupAfterMs: 9000 } },
  { name: 'presses * for a callback', script: { from: '+15557770205', to: SUPPORT_NUMBER, presses: ['*'] } },
];
/** The simulators' demo agents (`DEMO_QUEUE_AGENTS`): they answer and end each call after a few seconds. */
const QUEUE_AGENTS = Object.keys(DEMO_QUEUE_AGENTS).map((address, i) => ({ agentId: `agent${i + 1}`, address }));
/** The agents sign in once the callers have waited this long, so the line is seen to build up. */
const AGENTS_SIGN_IN_AFTER_MS = 15_000;

/** Places a scripted caller on a carrier's simulator; answers the call's carrier id. */
async function place(carrier: Provider, simulatorUrl: string, script: CallerScript): Promise<string> {
  const placed = await json<Record<string, string>>(`${simulatorUrl}/_sim/calls`, { method: 'POST', body: script });
  return placed.body[SIMULATORS[carrier].callIdField];
}

async function json<T>(url: string, init?: { method?: 'POST'; body?: unknown }): Promise<{ status: number; body: T }> {
  const res = await request(url, {
    method: init?.method ?? 'GET',
    headers: init?.body === undefined ? {} : { 'content-type': 'application/json' },
    body: init?.body === undefined ? undefined : JSON.stringify(init.body),
  });
  return { status: res.statusCode, body: (await res.body.json()) as T };
}

/** The session's result; its first webhook may still be on the way when the call is placed. */
async function outcomeOf(client: Client, workflowId: string): Promise<CallOutcome> {
  const handle = client.workflow.getHandle(workflowId);
  for (let waited = 0; ; waited += 200) {
    try {
      await handle.describe();
      break;
    } catch (err) {
      if (waited > 30_000) throw err;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  return (await handle.result()) as CallOutcome;
}

/**
 * The `support` queue on one carrier: the callers join one after another, wait (hold music, announcements),
 * one hangs up, one asks for a callback; then the demo agents sign in and take the callers and the callback.
 * Prints the waiting line, each call as it ends, and the queue's figures; signs the agents out at the end.
 */
export async function runQueueDemo(
  info: Pick<StackInfo, 'gatewayUrl'>,
  { carrier, simulatorUrl }: { carrier: Provider; simulatorUrl: string },
  printCall: (carrier: Provider, simulatorUrl: string, name: string, callId: string) => Promise<void>,
  options: { agentsAfterMs?: number; log?: (line: string) => void } = {},
): Promise<QueueView> {
  const log = options.log ?? ((line: string) => console.log(line));
  const queueUrl = `${info.gatewayUrl}/queues/${SUPPORT_QUEUE}`;
  const agents = (op: 'sign-in' | 'sign-out') =>
    Promise.all(
      QUEUE_AGENTS.map(async ({ agentId, address }) => {
        const res = await json(`${queueUrl}/agents`, { method: 'POST', body: { op, agentId, address } });
        if (res.status !== 200) throw new Error(`${op} ${agentId}: HTTP ${res.status} ${JSON.stringify(res.body)}`);
      }),
    );
  const calls = [];
  for (const caller of QUEUE_CALLERS) {
    calls.push({ ...caller, callId: await place(carrier, simulatorUrl, caller.script) });
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  log(`${carrier}: ${calls.length} callers dial ${SUPPORT_NUMBER}, the ${SUPPORT_QUEUE} queue; no agent yet ...\n`);
  const ended = Promise.all(
    calls.map((c) => printCall(carrier, simulatorUrl, `${c.name} (${SUPPORT_QUEUE} queue)`, c.callId)),
  );
  await new Promise((resolve) => setTimeout(resolve, options.agentsAfterMs ?? AGENTS_SIGN_IN_AFTER_MS));
  const line = (await json<QueueView>(queueUrl)).body;
  log(
    `● ${SUPPORT_QUEUE} queue: ${line.waiting.length} waiting (${line.waiting.map((w) => `#${w.position} ${w.kind}`).join(', ')}); ${QUEUE_AGENTS.length} agents sign in\n`,
  );
  await agents('sign-in');
  await ended;
  // The callback comes last in line: wait until it was answered and the agents are free again.
  const settled = async (): Promise<QueueView> => {
    for (let waited = 0; ; waited += 500) {
      const now = (await json<QueueView>(queueUrl)).body;
      const free = now.agents.every((a) => a.state !== 'offered' && a.state !== 'busy');
      if ((now.stats.waiting === 0 && free) || waited > 120_000) return now;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  };
  const view = await settled();
  await agents('sign-out');
  const s = view.stats;
  const seconds = (n?: number) => (n === undefined ? '-' : `${Math.round(n)} s`);
  log(`● ${SUPPORT_QUEUE} queue: the figures`);
  log(
    `    offered ${s.offered}, answered ${s.answered}, abandoned ${s.abandoned}, overflowed ${s.overflowed}, callbacks ${s.callbacksAnswered}/${s.callbacksRequested} answered`,
  );
  log(
    `    average speed of answer ${seconds(s.averageSpeedOfAnswerSeconds)}, average handle time ${seconds(s.averageHandleSeconds)}, service level ${s.serviceLevel === undefined ? '-' : `${Math.round(s.serviceLevel * 100)} %`}`,
  );
  log(`    agents: ${view.agents.map((a) => `${a.id} ${a.callsHandled} calls`).join(', ')}`);
  log(`    GET ${queueUrl}\n`);
  return view;
}

async function runningStack(): Promise<StackInfo | undefined> {
  const file = runningStackFile(loadConfig().temporal.dataDir);
  if (!existsSync(file)) return undefined;
  const info = JSON.parse(readFileSync(file, 'utf8')) as StackInfo;
  try {
    await json(`${info.gatewayUrl}/healthz`);
    return info;
  } catch {
    return undefined;
  }
}

async function main(): Promise<void> {
  let info = await runningStack();
  let own: { server?: DevServer; stack: Stack } | undefined;
  if (!info) {
    console.log('No running `npm start` found; starting a stack for this demo ...');
    const config = loadConfig();
    const server = config.temporal.address
      ? undefined
      : await startDevServer({
          dbFile: path.join(config.temporal.dataDir, 'temporal.sqlite'),
          port: config.temporal.port,
          uiPort: config.temporal.uiPort,
          log: (l) => console.log(l),
          projectRoot: PROJECT_ROOT,
        });
    const address = config.temporal.address ?? server!.address;
    const bundle = await bundleWorkflowsToFile(path.join(config.temporal.dataDir, 'workflow-bundle.js'));
    const stack = await startStack({
      temporalAddress: address,
      temporalUiUrl: server?.uiUrl,
      workflowBundlePath: bundle,
      gatewayPort: config.gateway.port,
      simulate: [...PROVIDERS],
      keyFile: path.join(config.temporal.dataDir, 'simulator-key.json'),
      log: () => undefined,
    });
    own = { server, stack };
    info = {
      gatewayUrl: stack.gatewayUrl,
      simulatorUrls: stack.simulatorUrls,
      temporalUiUrl: server?.uiUrl,
      temporalAddress: address,
    };
  }
  const simulated = PROVIDERS.flatMap((carrier) => {
    const simulatorUrl = info.simulatorUrls[carrier];
    return simulatorUrl ? [{ carrier, simulatorUrl }] : [];
  });
  if (simulated.length === 0)
    throw new Error('the running stack talks to real carriers (credentials are set); the demo needs the simulators');

  const connection = await Connection.connect({ address: info.temporalAddress });
  const client = new Client({ connection });
  try {
    const placed = await Promise.all(
      simulated.flatMap(({ carrier, simulatorUrl }) =>
        CALLERS.map(async (caller) => ({
          carrier,
          simulatorUrl,
          caller,
          callId: await place(carrier, simulatorUrl, caller.script),
        })),
      ),
    );
    console.log(
      `Placed ${placed.length} calls to ${CALLERS[0].script.to} (${simulated.map((s) => s.carrier).join(', ')}); waiting for them to finish ...\n`,
    );
    // A fax on each simulated carrier that sends faxes (SignalWire: a call running `send_fax`; Telnyx: a
    // Programmable Fax), to the simulators' demo fax machine.
    const faxes = await Promise.all(
      simulated
        .filter(({ carrier }) => faxCapability(carrier))
        .map(async ({ carrier }) => {
          const fax = await json<{ workflowId: string }>(`${info.gatewayUrl}/faxes`, {
            method: 'POST',
            body: {
              provider: carrier,
              to: DEMO_FAX_NUMBER,
              from: CALLERS[0].script.to,
              documentUrl: 'https://example.com/durable-calls-demo.pdf',
              ...(faxCapability(carrier)?.headerInfo ? { headerInfo: 'durable-calls demo' } : {}),
            },
          });
          if (fax.status !== 202) throw new Error(`POST /faxes answered ${fax.status}: ${JSON.stringify(fax.body)}`);
          return { carrier, workflowId: fax.body.workflowId };
        }),
    );
    const printCall = async (carrier: Provider, simulatorUrl: string, name: string, callId: string) => {
      const workflowId = inboundCallWorkflowId(carrier, callId);
      const outcome = await outcomeOf(client, workflowId);
      const sim = await json<{ outcome?: string }>(`${simulatorUrl}/_sim/calls/${encodeURIComponent(callId)}`);
      const lines = [
        `● ${carrier}: caller who ${name}`,
        `    session:  ${outcome.flowResult ?? '(no result)'} — ended: ${outcome.endCause ?? 'unknown'}, digits: "${outcome.digits}"`,
        ...(sim.body.outcome ? [`    carrier:  ${sim.body.outcome}`] : []),
        `    workflow: ${workflowId}`,
        ...(info.temporalUiUrl
          ? [`    UI:       ${temporalUiWorkflowUrl(info.temporalUiUrl, 'default', workflowId)}`]
          : []),
      ];
      console.log(`${lines.join('\n')}\n`);
    };
    const printFax = async (carrier: Provider, workflowId: string) => {
      const result = (await client.workflow.getHandle(workflowId).result()) as FaxResult;
      const lines = [
        `● ${carrier}: fax to ${DEMO_FAX_NUMBER}`,
        `    result:   ${result.status}, ${result.pages} pages, ${result.resultText ?? ''} (${result.attempts} attempt${result.attempts === 1 ? '' : 's'})`,
        `    workflow: ${workflowId}  (GET ${info.gatewayUrl}/faxes/${workflowId})`,
        ...(info.temporalUiUrl
          ? [`    UI:       ${temporalUiWorkflowUrl(info.temporalUiUrl, 'default', workflowId)}`]
          : []),
      ];
      console.log(`${lines.join('\n')}\n`);
    };
    // Each call is printed as it ends, the queue's callers among them.
    await Promise.all([
      ...placed.map(({ carrier, simulatorUrl, caller, callId }) =>
        printCall(carrier, simulatorUrl, caller.name, callId),
      ),
      ...faxes.map(({ carrier, workflowId }) => printFax(carrier, workflowId)),
      runQueueDemo(info, simulated[0], printCall),
    ]);
  } finally {
    await connection.close();
    if (own) {
      await own.stack.stop();
      await own.server?.stop();
    }
  }
}

// Run as a script (`npm run demo`); a test imports `runQueueDemo` alone.
if (require.main === module) {
  main().catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
