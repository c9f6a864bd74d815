import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { request } from 'undici';
import { inboundCallWorkflowId, PROVIDERS, type CallOutcome, type FaxResult, type Provider } from '../src/calls';
import { loadConfig, PROJECT_ROOT, temporalConnectionOptions } from '../src/config';
import { startDevServer, temporalUiWorkflowUrl, type DevServer } from '../src/dev/dev-server';
import { DEMO_FAX_NUMBER, SIMULATORS } from '../src/dev/simulators';
import { faxCapability } from '../src/providers/carriers';
import { startStack, type Stack } from '../src/dev/stack';
import { bundleWorkflowsToFile } from '../worker/bundle';

/**
 * `npm run demo`: three simulated callers through the default IVR on every simulated carrier: one presses 1
 * and talks to an agent, one presses 2 and leaves a message, one hangs up mid-menu; and, on SignalWire,
 * one fax sent to a simulated fax machine. Uses the stack `npm start` runs, or starts its own when none
 * is running.
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

type CallerScript = (typeof CALLERS)[number]['script'];

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

async function runningStack(): Promise<StackInfo | undefined> {
  const file = path.join(PROJECT_ROOT, '.data', 'stack.json');
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

  // The stack's address, with the TLS and API key settings of this environment (the stack's processes have them too).
  const connection = await Connection.connect({
    ...temporalConnectionOptions(loadConfig().temporal),
    address: info.temporalAddress,
  });
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
    for (const { carrier, simulatorUrl, caller, callId } of placed) {
      const workflowId = inboundCallWorkflowId(carrier, callId);
      const outcome = await outcomeOf(client, workflowId);
      const sim = await json<{ outcome?: string }>(`${simulatorUrl}/_sim/calls/${encodeURIComponent(callId)}`);
      console.log(`● ${carrier}: caller who ${caller.name}`);
      console.log(
        `    session:  ${outcome.flowResult ?? '(no result)'} — ended: ${outcome.endCause ?? 'unknown'}, digits: "${outcome.digits}"`,
      );
      if (sim.body.outcome) console.log(`    carrier:  ${sim.body.outcome}`);
      console.log(`    workflow: ${workflowId}`);
      if (info.temporalUiUrl)
        console.log(`    UI:       ${temporalUiWorkflowUrl(info.temporalUiUrl, 'default', workflowId)}`);
      console.log('');
    }
    for (const { carrier, workflowId } of faxes) {
      const result = (await client.workflow.getHandle(workflowId).result()) as FaxResult;
      console.log(`● ${carrier}: fax to ${DEMO_FAX_NUMBER}`);
      console.log(
        `    result:   ${result.status}, ${result.pages} pages, ${result.resultText ?? ''} (${result.attempts} attempt${result.attempts === 1 ? '' : 's'})`,
      );
      console.log(`    workflow: ${workflowId}  (GET ${info.gatewayUrl}/faxes/${workflowId})`);
      if (info.temporalUiUrl)
        console.log(`    UI:       ${temporalUiWorkflowUrl(info.temporalUiUrl, 'default', workflowId)}`);
      console.log('');
    }
  } finally {
    await connection.close();
    if (own) {
      await own.stack.stop();
      await own.server?.stop();
    }
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
