import { mkdirSync, rmSync, statSync, watch, writeFileSync, type FSWatcher } from 'node:fs';
import path from 'node:path';
import { bundleWorkflowsToFile } from '../worker/bundle';
import { PROVIDERS } from './calls/ids';
import { loadConfig, type Config } from './config';
import { startDevServer, type DevServer } from './dev/dev-server';
import type { ManagedProcess } from './dev/processes';
import { SIMULATORS } from './dev/simulators';
import { runningStackFile, startStack, type Stack } from './dev/stack';
import { logFormat, prettifier } from './logging';

/**
 * The whole service on one machine, as `npm start` runs it: the Temporal dev server (unless TEMPORAL_ADDRESS),
 * the worker, the gateway, and a simulator per carrier when no carrier is configured, each part its own process.
 * A crashed worker is restarted (which is also how to watch a call survive `kill -9`); with `watch`, an edit
 * to a flow restarts the worker with the new code.
 */

export interface RunServiceOptions {
  /** A module whose exported functions are your flows (FLOWS_PATH). */
  flowsPath?: string;
  /** Your routing table (ROUTING_TABLE_PATH). */
  routingTablePath?: string;
  /** Where Temporal's SQLite file, the workflow bundle and the simulators' keys live (DATA_DIR). */
  dataDir?: string;
  /** Files or folders whose changes restart the worker (fs.watch, recursive). */
  watch?: string[];
  /** Where progress lines and the parts' logs go. Default: stdout. */
  log?: (line: string) => void;
}

export interface RunningService {
  stack: Stack;
  temporalAddress: string;
  temporalUiUrl?: string;
  stop(): Promise<void>;
}

/** Pause after the last change before the worker restarts: an editor's save is several file events. */
const WATCH_DEBOUNCE_MS = 300;

export async function runService(options: RunServiceOptions = {}): Promise<RunningService> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...(options.flowsPath && { FLOWS_PATH: path.resolve(options.flowsPath) }),
    ...(options.routingTablePath && { ROUTING_TABLE_PATH: path.resolve(options.routingTablePath) }),
    ...(options.dataDir && { DATA_DIR: path.resolve(options.dataDir) }),
  };
  const config = loadConfig(env);
  const say = options.log ?? ((line: string) => console.log(line));
  // The parts write JSON lines (their ready lines are JSON); on a terminal they are shown the way pino-pretty would.
  const readable = logFormat(config.logFormat) === 'pretty' ? prettifier() : (line: string) => line;
  const partLog = (line: string) => {
    const [, part = '', rest = line] = /^(\[[^\]]+\] )(.*)$/.exec(line) ?? [];
    say(part + readable(rest));
  };
  mkdirSync(config.temporal.dataDir, { recursive: true });

  let server: DevServer | undefined;
  let address = config.temporal.address;
  let uiUrl = config.temporal.uiUrl;
  if (!address) {
    const dbFile = path.join(config.temporal.dataDir, 'temporal.sqlite');
    say(`starting Temporal dev server (first run downloads it; state in ${path.relative(process.cwd(), dbFile)})…`);
    server = await startDevServer({
      dbFile,
      port: config.temporal.port,
      uiPort: config.temporal.uiPort,
      log: say,
      projectRoot: process.cwd(),
    });
    address = server.address;
    uiUrl = server.uiUrl;
  } else {
    say(`using Temporal at ${address} (TEMPORAL_ADDRESS is set; starting no server)`);
  }
  say(`Temporal ready at ${address}`);

  const flowsPath = config.worker.flowsPath;
  const bundleFile = path.join(config.temporal.dataDir, 'workflow-bundle.js');
  const bundle = () => bundleWorkflowsToFile(bundleFile, { flowsPath });
  say(`bundling the workflow code${flowsPath ? ` with your flows (${path.relative(process.cwd(), flowsPath)})` : ''}…`);
  await bundle();
  say('starting the worker, the gateway and the carrier simulators…');
  const stack = await startStack({
    temporalAddress: address,
    temporalUiUrl: uiUrl,
    workflowBundlePath: bundleFile,
    gatewayPort: config.gateway.port,
    keyFile: path.join(config.temporal.dataDir, 'simulator-key.json'),
    env: { ...env, LOG_FORMAT: 'json' },
    log: partLog,
  });
  say(`worker ready (task queue ${config.temporal.taskQueue})`);
  say(`gateway listening on ${stack.gatewayUrl}`);

  const stackFile = runningStackFile(config.temporal.dataDir);
  writeFileSync(
    stackFile,
    JSON.stringify(
      {
        gatewayUrl: stack.gatewayUrl,
        simulatorUrls: stack.simulatorUrls,
        temporalUiUrl: uiUrl,
        temporalAddress: address,
      },
      null,
      2,
    ),
  );
  banner(config, stack, env, address, uiUrl).forEach((line) => say(line));

  let stopping = false;
  let restarting = false;
  let worker = stack.worker;
  const superviseWorker = (part: ManagedProcess) => {
    void part.exited.then(async (code) => {
      if (stopping || restarting || part !== worker) return;
      say(`worker exited (${code}); starting a new one`);
      superviseWorker((worker = await stack.startWorker()));
    });
  };
  superviseWorker(worker);

  const watchers = watchFiles(options.watch ?? [], async (changed) => {
    if (stopping) return;
    restarting = true;
    try {
      say(`${path.relative(process.cwd(), changed)} changed: restarting the worker…`);
      await bundle();
      await worker.stop();
      superviseWorker((worker = await stack.startWorker()));
      say('worker restarted with the new code');
    } catch (err) {
      say(`worker not restarted: ${(err as Error).message}`);
    } finally {
      restarting = false;
    }
  });

  const stop = async () => {
    if (stopping) return;
    stopping = true;
    watchers.forEach((w) => w.close());
    await stack.stop();
    await server?.stop();
    rmSync(stackFile, { force: true });
  };
  void stack.gateway.exited.then((code) => {
    if (stopping) return;
    say(`gateway exited (${code}); stopping`);
    void stop().then(() => process.exit(1));
  });
  return { stack, temporalAddress: address, temporalUiUrl: uiUrl, stop };
}

/** Where everything is: each carrier's webhook URL, the simulators, the REST API and Temporal's UI. */
function banner(config: Config, stack: Stack, env: NodeJS.ProcessEnv, address: string, uiUrl?: string): string[] {
  const lines = [''];
  const gateways = config.gateway.processes;
  lines.push(`  Gateway       ${stack.gatewayUrl}${gateways > 1 ? ` (${gateways} processes, GATEWAY_PROCESSES)` : ''}`);
  lines.push(
    `  REST API      ${stack.gatewayUrl}/calls${config.gateway.apiKeys.length === 0 ? ' (loopback clients only; set API_KEYS to serve others)' : ''}`,
  );
  // Every carrier the gateway serves: simulated, or configured with a real account.
  for (const carrier of PROVIDERS.filter((c) => stack.simulatorUrls[c] || env[SIMULATORS[c].configuredBy])) {
    lines.push(
      `  Webhooks      ${carrier}: ${SIMULATORS[carrier].webhookUrls(config.gateway.publicBaseUrl).join(', ')}`,
    );
  }
  const simulated = Object.entries(stack.simulatorUrls);
  if (simulated.length === 0) lines.push('  Carriers      as configured (no simulators)');
  for (const [carrier, url] of simulated)
    lines.push(`  Simulator     ${carrier} at ${url} (no carrier credentials set)`);
  lines.push(`  Temporal      ${address}`);
  if (uiUrl) lines.push(`  Temporal UI   ${uiUrl}`);
  lines.push('');
  return lines;
}

/**
 * Calls `onChange` once the files stop changing for WATCH_DEBOUNCE_MS, with the last file that changed. A folder is
 * watched with everything below it; a file through its folder (an editor's save often replaces the file).
 */
function watchFiles(paths: string[], onChange: (file: string) => Promise<void>): FSWatcher[] {
  let timer: NodeJS.Timeout | undefined;
  let running = Promise.resolve();
  const changed = (file: string) => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      running = running.then(() => onChange(file));
    }, WATCH_DEBOUNCE_MS);
  };
  return paths.map((watched) => {
    if (statSync(watched).isDirectory()) {
      return watch(watched, { recursive: true }, (_event, name) => changed(path.join(watched, name ?? '')));
    }
    return watch(path.dirname(watched), (_event, name) => {
      if (name === path.basename(watched)) changed(watched);
    });
  });
}

/**
 * `runService` for a command line (`npm start`, `npm run dev`, an app's own start script): prints `hint` once
 * everything is up, and Ctrl-C or SIGTERM stops every part before the process exits.
 */
export function runFromCommandLine(options: RunServiceOptions = {}, hint = ''): void {
  let running: RunningService | undefined;
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    console.log('stopping…');
    await running?.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
  runService(options)
    .then((service) => {
      running = service;
      console.log(`${hint}Ctrl-C stops everything.`);
    })
    .catch((err) => {
      console.error(err instanceof Error ? err.message : err);
      process.exit(1);
    });
}
