import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { request } from 'undici';
import { inboundCallWorkflowId, PROVIDERS, type FaxResult, type Provider } from '../src/calls';
import { startBalancer } from '../src/dev/balancer';
import { freePort } from '../src/dev/ports';
import { restartDevServer, startDevServer, type DevServer } from '../src/dev/dev-server';
import { startPart, type ManagedProcess } from '../src/dev/processes';
import { SIMULATORS } from '../src/dev/simulators';
import { bundleWorkflowsToFile } from '../worker/bundle';
import {
  CHAOS_SCRIPTS,
  fetchCarrierLogs,
  judgeCall,
  percentile,
  reactionSamples,
  reactionTimes,
  refusedAtLeastOnce,
  runningSessions,
  sessionFacts,
  type CallVerdict,
  type CarrierLogs,
  type PlacedCall,
  type ScriptName,
} from './chaos-analysis';

/**
 * `npm run chaos`: mixed calls on every simulated carrier plus SignalWire faxes, through two gateways behind a
 * load balancer, while workers are SIGKILLed every 10 s, the gateways restart one by one every 30 s (one is
 * SIGKILLed once), Temporal is down for 20 s, and every simulator fault is on. Runs its own stack on its own
 * ports and data dir (.data/chaos-<time>), then prints one line of verdicts (see bench/README.md).
 *
 * CHAOS_CALLS (300), CHAOS_RATE calls/s (1), CHAOS_TIME_SCALE (1), CHAOS_STUCK_AFTER_MS (120000),
 * CHAOS_OUTAGE_AT_S (60), CHAOS_WORKERS (2, SIGKILLed in turn), CHAOS_FAULTS (JSON merged into every simulator's
 * faults).
 */

// Run compiled (`npm run chaos` builds first), as production runs: every restarted part starts in well under a
// second instead of spending seconds of CPU in ts-node, which on a small machine was load the chaos itself made.
const ROOT = path.resolve(__dirname, __filename.endsWith('.js') ? '../..' : '..');
const CALLS = Number(process.env.CHAOS_CALLS ?? 300);
const RATE = Number(process.env.CHAOS_RATE ?? 1);
const TIME_SCALE = Number(process.env.CHAOS_TIME_SCALE ?? 1);
const STUCK_AFTER_MS = Number(process.env.CHAOS_STUCK_AFTER_MS ?? 120_000);
const OUTAGE_AT_MS = Number(process.env.CHAOS_OUTAGE_AT_S ?? 60) * 1000;
const OUTAGE_MS = 20_000;
const WORKER_KILL_EVERY_MS = 10_000;
const WORKERS = Number(process.env.CHAOS_WORKERS ?? 2);
/**
 * `deploy`: no faults, kills or outage; once calls are flowing, every gateway and then every worker gets SIGTERM
 * and a replacement, one after the other, and the run counts the requests the tier refused (none should be).
 */
const DEPLOY = process.env.CHAOS_MODE === 'deploy';
const DEPLOY_AT_MS = 30_000;
const GATEWAY_ROLL_EVERY_MS = 30_000;
const GATEWAY_SIGKILL_AT_MS = 45_000;
/** One fax per this many calls. */
const FAX_EVERY = 10;
const CALLER_SCRIPTS: ScriptName[] = ['agent', 'voicemail', 'hangup'];
const OUR_NUMBER = '+15550001000';

/** Every fault the simulators have, on; per carrier where the command errors differ (5xx and 429). */
function faultsFor(carrier: Provider): Record<string, unknown> {
  if (DEPLOY) return {};
  const common = {
    duplicateWebhooks: true,
    duplicateStatusHooks: true,
    webhookDelayMs: [2, 150],
    hookDelayMs: [0, 100],
    reorderWebhooks: 0.3,
    reorderDelayMs: [0, 300],
  };
  // One command in five is refused once: every retry path runs hundreds of times in a run, and the reaction
  // figures still show what callers hear rather than the carrier's own refusal of every command (a Telnyx 429
  // asks for a 1 s wait, which would otherwise be in every Telnyx reaction).
  const commandFault = {
    telnyx: { status: 429, count: 1, share: 0.2, retryAfterSeconds: 1 },
    signalwire: { status: 503, count: 1, share: 0.2 },
    jambonz: { status: 500, count: 1, share: 0.2 },
  }[carrier];
  const extra = process.env.CHAOS_FAULTS ? (JSON.parse(process.env.CHAOS_FAULTS) as object) : {};
  return { ...common, failFirstCommandAttempts: commandFault, ...extra };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function http(url: string, init?: { method?: 'POST'; body?: unknown }) {
  const res = await request(url, {
    method: init?.method ?? 'GET',
    headers: init?.body === undefined ? {} : { 'content-type': 'application/json' },
    body: init?.body === undefined ? undefined : JSON.stringify(init.body),
    headersTimeout: 30_000,
  });
  const text = await res.body.text();
  return { status: res.statusCode, text };
}

// --- the run ---------------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const started = Date.now();
  const dir = path.join(ROOT, '.data', `chaos-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  mkdirSync(dir, { recursive: true });
  const logFile = path.join(dir, 'chaos.log');
  const log = (line: string) => appendFileSync(logFile, `${new Date().toISOString()} ${line}\n`);
  const say = (line: string) => {
    console.log(line);
    log(line);
  };

  const [temporalPort, lbPort, gw1, gw2] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
  let server: DevServer = await startDevServer({
    dbFile: path.join(dir, 'temporal.sqlite'),
    port: temporalPort,
    uiPort: 'headless',
    log,
    projectRoot: ROOT,
  });
  const bundle = await bundleWorkflowsToFile(path.join(dir, 'workflow-bundle.js'));
  const lbUrl = `http://127.0.0.1:${lbPort}`;
  const faxCount = Math.floor(CALLS / FAX_EVERY);
  const faxNumber = (i: number) => `+1555090${String(i).padStart(4, '0')}`;
  const baseEnv: NodeJS.ProcessEnv = {
    ...process.env,
    TEMPORAL_ADDRESS: server.address,
    WORKFLOW_BUNDLE_PATH: bundle,
    PUBLIC_BASE_URL: lbUrl,
    LOG_LEVEL: 'warn',
    SIMULATOR_TIME_SCALE: String(TIME_SCALE),
    SIMULATOR_FAXES: JSON.stringify(
      Object.fromEntries(Array.from({ length: faxCount }, (_, i) => [faxNumber(i), { outcome: 'success', pages: 2 }])),
    ),
  };

  // Simulators point at the balancer; each gets its own port and its carrier's faults.
  const simulators: ManagedProcess[] = [];
  const simulatorUrls = {} as Record<Provider, string>;
  for (const carrier of PROVIDERS) {
    const simulated = await SIMULATORS[carrier].start({
      gatewayUrl: lbUrl,
      publicBaseUrl: lbUrl,
      env: baseEnv,
      keyFile: path.join(dir, 'simulator-key.json'),
      run: async (env) => {
        const sim = await startPart(SIMULATORS[carrier].part as 'simulator-telnyx', {
          log,
          env: { ...baseEnv, SIMULATOR_PORT: '0', SIMULATOR_FAULTS: JSON.stringify(faultsFor(carrier)), ...env },
        });
        simulators.push(sim);
        return sim.ready;
      },
    });
    simulatorUrls[carrier] = simulated.baseUrl;
    Object.assign(baseEnv, simulated.partEnv);
  }

  const gatewayPorts = [gw1, gw2];
  const gateways: ManagedProcess[] = await Promise.all(
    gatewayPorts.map((port, i) =>
      startPart('gateway', { env: { ...baseEnv, PORT: String(port) }, log, label: `gateway-${i + 1}` }),
    ),
  );
  const readyz = await http(`http://127.0.0.1:${gw1}/readyz`).catch(() => ({ status: 0 }));
  const checkPath = readyz.status === 404 || readyz.status === 0 ? '/healthz' : '/readyz';
  const balancer = await startBalancer({
    dir,
    port: lbPort,
    backends: gatewayPorts,
    mode: 'http',
    checkPath,
    name: 'gateways',
  });
  // Workers as production runs them, more than one: the crash of one is what the other and Temporal's timeouts
  // absorb. The kill goes round them, one every WORKER_KILL_EVERY_MS.
  const workers: ManagedProcess[] = [];
  for (let i = 1; i <= WORKERS; i++)
    workers.push(await startPart('worker', { env: baseEnv, log, label: `worker-${i}` }));
  say(
    `chaos${DEPLOY ? ' (deploy)' : ''}: ${CALLS} calls + ${faxCount} faxes at ${RATE}/s, time scale ${TIME_SCALE}, ` +
      `${WORKERS} workers; balancer: ${balancer.kind}`,
  );
  say(`chaos: data and logs in ${path.relative(ROOT, dir)}`);
  await sleep(1500);

  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection });

  // --- chaos schedule ---
  const t0 = Date.now();
  let done = false;
  let temporalDown = false;
  const outageWindow = { from: Infinity, to: -Infinity };
  const events: string[] = [];
  const faultTimes: Array<{ at: number; what: string }> = [];
  const note = (line: string) => {
    faultTimes.push({ at: Date.now(), what: line });
    events.push(`+${((Date.now() - t0) / 1000).toFixed(1)}s ${line}`);
    log(line);
  };
  let workerCount = WORKERS;
  const startWorker = async (): Promise<ManagedProcess> => {
    for (;;) {
      try {
        return await startPart('worker', { env: baseEnv, log, label: `worker-${++workerCount}` });
      } catch (err) {
        note(`worker start failed (${(err as Error).message}); again in 1 s`);
        await sleep(1000);
      }
    }
  };
  const workerChaos = (async () => {
    if (DEPLOY) return;
    for (let next = 0; !done; next = (next + 1) % workers.length) {
      await sleep(WORKER_KILL_EVERY_MS);
      if (done) break;
      if (temporalDown) continue;
      await workers[next].kill();
      note(`SIGKILL ${workers[next].name}`);
      workers[next] = await startWorker();
    }
  })();
  const restartGateway = async (i: number, how: 'SIGTERM' | 'SIGKILL') => {
    if (how === 'SIGKILL') await gateways[i].kill();
    else await gateways[i].stop();
    note(`${how} gateway-${i + 1}`);
    for (;;) {
      try {
        gateways[i] = await startPart('gateway', {
          env: { ...baseEnv, PORT: String(gatewayPorts[i]) },
          log,
          label: `gateway-${i + 1}`,
        });
        break;
      } catch (err) {
        note(`gateway-${i + 1} start failed (${(err as Error).message})`);
        await sleep(1000);
      }
    }
    note(`gateway-${i + 1} back`);
  };
  const gatewayChaos = (async () => {
    if (DEPLOY) {
      // A deploy: each gateway drains and is replaced, then each worker (SIGTERM lets it finish its tasks).
      await sleep(DEPLOY_AT_MS);
      for (const i of gatewayPorts.keys()) await restartGateway(i, 'SIGTERM');
      for (const i of workers.keys()) {
        const replacement = await startWorker();
        await workers[i].stop();
        note(`SIGTERM ${workers[i].name}, replaced by ${replacement.name}`);
        workers[i] = replacement;
      }
      return;
    }
    let killed = false;
    for (let at = GATEWAY_ROLL_EVERY_MS; !done; at += GATEWAY_ROLL_EVERY_MS) {
      while (!done && Date.now() - t0 < at) {
        if (!killed && Date.now() - t0 >= GATEWAY_SIGKILL_AT_MS) {
          killed = true;
          await restartGateway(1, 'SIGKILL');
        }
        await sleep(250);
      }
      if (done) break;
      // Rolling: one gateway at a time, the other keeps serving.
      for (const i of gatewayPorts.keys()) await restartGateway(i, 'SIGTERM');
    }
  })();
  const outage = (async () => {
    if (DEPLOY) return;
    await sleep(OUTAGE_AT_MS);
    if (done) return;
    temporalDown = true;
    outageWindow.from = Date.now();
    note('Temporal stopped for 20 s');
    server = await restartDevServer(server, { log, downMs: OUTAGE_MS });
    outageWindow.to = Date.now();
    temporalDown = false;
    note('Temporal back');
  })();

  // --- load ---
  const calls: PlacedCall[] = [];
  const faxes: Array<{ workflowId?: string; to: string; error?: string }> = [];
  const placing: Array<Promise<void>> = [];
  for (let i = 0; i < CALLS; i++) {
    const due = t0 + (i * 1000) / RATE;
    if (due > Date.now()) await sleep(due - Date.now());
    const carrier = PROVIDERS[i % PROVIDERS.length];
    const script = CALLER_SCRIPTS[Math.floor(i / PROVIDERS.length) % CALLER_SCRIPTS.length];
    const from = `+1555777${String(i).padStart(4, '0')}`;
    placing.push(
      http(`${simulatorUrls[carrier]}/_sim/calls`, {
        method: 'POST',
        body: { from, to: OUR_NUMBER, ...CHAOS_SCRIPTS[script] },
      }).then(({ text }) => {
        const callId = (JSON.parse(text) as Record<string, string>)[SIMULATORS[carrier].callIdField];
        calls.push({ carrier, script, callId, workflowId: inboundCallWorkflowId(carrier, callId) });
      }),
    );
    if (i % FAX_EVERY === FAX_EVERY - 1) {
      const to = faxNumber(faxes.length);
      const fax: (typeof faxes)[number] = { to };
      faxes.push(fax);
      placing.push(placeFax(lbUrl, to, `chaos-fax-${faxes.length}`).then((r) => void Object.assign(fax, r)));
    }
  }
  await Promise.all(placing);
  note(`all ${calls.length} calls and ${faxes.length} faxes placed`);

  // --- every call ends (or is given up on) ---
  const endedAt = new Map<string, number>();
  await mapLimit(calls, 20, async (call) => {
    const url = `${simulatorUrls[call.carrier]}/_sim/calls/${encodeURIComponent(call.callId)}/ended?timeout_ms=240000`;
    const res = await http(url).catch(() => ({ status: 0 }));
    if (res.status === 200) endedAt.set(call.workflowId, Date.now());
  });
  done = true;
  note(`calls ended (${endedAt.size}/${calls.length})`);
  await Promise.all([workerChaos, gatewayChaos, outage]);
  const faxResults = await mapLimit(faxes, 10, async (fax) => {
    if (!fax.workflowId) return { ...fax, status: 'not placed' };
    try {
      const result = await Promise.race([
        client.workflow.getHandle(fax.workflowId).result() as Promise<FaxResult>,
        sleep(120_000).then(() => undefined),
      ]);
      return { ...fax, status: result ? result.status : 'running' };
    } catch (err) {
      return { ...fax, status: `failed: ${(err as Error).message}` };
    }
  });

  // Stuck: still running STUCK_AFTER_MS after the last call ended.
  const lastEnd = Math.max(Date.now(), ...endedAt.values());
  const waitStuck = lastEnd + STUCK_AFTER_MS - Date.now();
  if (waitStuck > 0) {
    say(`chaos: waiting ${Math.round(waitStuck / 1000)} s before counting sessions still running ...`);
    await sleep(waitStuck);
  }
  const running = await runningSessions(client);

  // --- verdicts ---
  const logs = {} as Record<Provider, CarrierLogs>;
  for (const carrier of PROVIDERS) logs[carrier] = await fetchCarrierLogs(carrier, simulatorUrls[carrier]);
  writeFileSync(
    path.join(dir, 'carrier-logs.json'),
    JSON.stringify(logs, (_key, value: unknown) => (value instanceof Map ? [...value.values()] : value)),
  );
  const verdicts: CallVerdict[] = await mapLimit(calls, 20, async (call) =>
    judgeCall(call, logs[call.carrier], await sessionFacts(client, call.workflowId), running),
  );
  const reactions = PROVIDERS.flatMap((c) => reactionTimes(c, logs[c]));
  // A reaction that was waiting while Temporal was down (its event went out before or during the outage, its
  // command after it began) waits for Temporal whatever the system does: reported apart.
  const duringOutage = (r: { at: number; ms: number }) => r.at <= outageWindow.to && r.at + r.ms >= outageWindow.from;
  const samples = PROVIDERS.flatMap((c) => reactionSamples(c, logs[c]));
  const outsideOutage = samples.filter((r) => !duringOutage(r)).map((r) => r.ms);
  const inOutage = samples.filter(duringOutage).map((r) => r.ms);
  // A second fax to one number: more than one send_fax dial for it at the simulator.
  const faxDuplicates = faxResults.filter(
    (fax) =>
      [...logs.signalwire.calls.values()].filter(
        (r) => r.direction === 'outbound' && (r as { to?: string }).to === fax.to,
      ).length > 1,
  );
  const faxFailures = faxResults.filter((f) => f.status !== 'succeeded');
  const stuckFaxes = faxResults.filter((f) => f.workflowId && running.has(f.workflowId));

  const count = (pick: (v: CallVerdict) => boolean, list = verdicts) => list.filter(pick).length;
  const unexplained = (v: CallVerdict) => v.explainedBy === undefined;
  const totals = {
    calls: verdicts.length + faxResults.length,
    lost: count((v) => v.lost) + faxResults.filter((f) => !f.workflowId).length,
    dropped: count((v) => v.dropped && unexplained(v)),
    wrong: count((v) => v.wrong && unexplained(v)) + faxFailures.filter((f) => f.workflowId).length,
    duplicates: count((v) => v.duplicates.length > 0) + faxDuplicates.length,
    stuck: count((v) => v.stuck) + stuckFaxes.length,
  };
  say('');
  say(`chaos events: ${events.join('; ')}`);
  for (const carrier of PROVIDERS) {
    const mine = verdicts.filter((v) => v.call.carrier === carrier);
    const r = reactionTimes(carrier, logs[carrier]);
    const hooks = logs[carrier].webhooks;
    say(
      `  ${carrier}: calls=${mine.length} lost=${count((v) => v.lost, mine)} dropped=${count((v) => v.dropped && unexplained(v), mine)} ` +
        `wrong=${count((v) => v.wrong && unexplained(v), mine)} explained=${count((v) => (v.wrong || v.dropped) && !unexplained(v), mine)} ` +
        `duplicates=${count((v) => v.duplicates.length > 0, mine)} stuck=${count((v) => v.stuck, mine)} ` +
        `reaction_p50=${percentile(r, 50)}ms p99=${percentile(r, 99)}ms max=${percentile(r, 100)}ms; ` +
        `webhooks=${hooks.length} reordered=${hooks.filter((w) => w.reordered).length} dropped=${hooks.filter((w) => w.dropped).length} ` +
        `failed=${hooks.filter((w) => w.status === 'failed' && !w.dropped).length}`,
    );
  }
  say(
    `  faxes: ${faxResults.length}, ${faxFailures.length} not successful, ${faxDuplicates.length} sent twice, ${stuckFaxes.length} stuck`,
  );
  const failures = verdicts.filter((v) => v.lost || v.dropped || v.wrong || v.stuck || v.duplicates.length > 0);
  for (const v of failures) {
    const what = [
      v.lost && 'lost',
      v.dropped && 'dropped',
      v.wrong && 'wrong',
      v.stuck && 'stuck',
      v.duplicates.length > 0 && `duplicates (${v.duplicates.join('; ')})`,
    ].filter(Boolean);
    say(
      `  ✗ ${v.call.workflowId} [${v.call.script}] ${what.join(', ')}: session "${v.flowResult ?? '-'}", carrier "${v.simOutcome ?? '-'}"` +
        (v.explainedBy ? ` — explained by injected fault: ${v.explainedBy}` : ''),
    );
  }
  for (const f of [...faxFailures, ...faxDuplicates, ...stuckFaxes])
    say(
      `  ✗ fax ${f.workflowId ?? '(not placed)'} to ${f.to}: ${f.status}${'error' in f && f.error ? ` ${f.error}` : ''}`,
    );
  say(
    `chaos: calls=${totals.calls} lost=${totals.lost} dropped=${totals.dropped} wrong=${totals.wrong} duplicates=${totals.duplicates} ` +
      `stuck=${totals.stuck} reaction_p50=${percentile(reactions, 50)}ms reaction_p99=${percentile(reactions, 99)}ms`,
  );
  // What the slow reactions (over 3 s) followed: the chaos event within the 10 s before each.
  const slow = samples.filter((r) => r.ms > 3000);
  const causes = new Map<string, number>();
  for (const r of slow) {
    const before = faultTimes.filter((f) => f.at <= r.at && r.at - f.at <= 10_000).at(-1);
    const cause = duringOutage(r)
      ? 'Temporal outage'
      : before
        ? before.what.replace(/-\d+\b/g, '').replace(/, replaced by.*/, '')
        : 'no chaos event in the 10 s before';
    causes.set(cause, (causes.get(cause) ?? 0) + 1);
  }
  // Each slow reaction in the log file (not on the console): what it was, and what chaos came before it.
  for (const r of slow) {
    const before = faultTimes.filter((f) => f.at <= r.at && r.at - f.at <= 10_000).at(-1);
    log(
      `slow reaction ${r.ms} ms at +${((r.at - started) / 1000).toFixed(1)}s: ${r.what}` +
        (before ? `; ${((r.at - before.at) / 1000).toFixed(1)} s after ${before.what}` : ''),
    );
  }
  say(
    `chaos: reactions over 3 s: ${slow.length} of ${samples.length}` +
      (slow.length ? `, after: ${[...causes].map(([what, n]) => `${what} ${n}`).join(', ')}` : ''),
  );
  const refused = PROVIDERS.flatMap((c) => logs[c].webhooks.filter(refusedAtLeastOnce));
  say(
    `chaos: webhooks refused at least once by the gateway tier: ${refused.length} of ` +
      `${PROVIDERS.reduce((n, c) => n + logs[c].webhooks.length, 0)}, REST requests refused: ${restRefusals}` +
      `${DEPLOY ? ' (deploy run: both must be 0)' : ''}`,
  );
  say(
    `chaos: reactions not waiting on the Temporal outage: n=${outsideOutage.length} p50=${percentile(outsideOutage, 50)}ms ` +
      `p99=${percentile(outsideOutage, 99)}ms max=${percentile(outsideOutage, 100)}ms; waiting on it: ` +
      `n=${inOutage.length} p99=${percentile(inOutage, 99)}ms`,
  );
  log(`finished in ${Math.round((Date.now() - started) / 1000)} s`);

  await connection.close();
  await Promise.all(gateways.map((g) => g.stop()));
  await balancer.stop();
  await Promise.all(workers.map((w) => w.stop()));
  await Promise.all(simulators.map((s) => s.stop()));
  await server.stop();
}

/** REST requests (POST /faxes) the gateway tier refused or dropped; each was retried. */
let restRefusals = 0;

/** POST /faxes with an idempotency key, retried while the gateways restart (the same key names the same fax). */
async function placeFax(
  lbUrl: string,
  to: string,
  requestId: string,
): Promise<{ workflowId?: string; error?: string }> {
  let error = '';
  for (let attempt = 0; attempt < 30; attempt++) {
    try {
      const res = await http(`${lbUrl}/faxes`, {
        method: 'POST',
        body: {
          provider: 'signalwire',
          to,
          from: OUR_NUMBER,
          documentUrl: 'https://example.com/chaos.pdf',
          headerInfo: 'chaos',
          requestId,
        },
      });
      if (res.status === 202 || res.status === 200)
        return { workflowId: (JSON.parse(res.text) as { workflowId: string }).workflowId };
      error = `HTTP ${res.status} ${res.text.slice(0, 200)}`;
    } catch (err) {
      error = (err as Error).message;
    }
    restRefusals += 1;
    await sleep(1000);
  }
  return { error };
}

async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await fn(items[i]);
      }
    }),
  );
  return results;
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : err);
    process.exit(1);
  },
);
