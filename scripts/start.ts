import path from 'node:path';
import { writeFileSync, rmSync, mkdirSync } from 'node:fs';
import { PROVIDERS } from '../src/calls';
import { loadConfig, PROJECT_ROOT } from '../src/config';
import { startDevServer, type DevServer } from '../src/dev/dev-server';
import { SIMULATORS } from '../src/dev/simulators';
import { startStack, type Stack } from '../src/dev/stack';
import { bundleWorkflowsToFile } from '../worker/bundle';

/**
 * `npm start`: the whole service with the embedded defaults. Temporal dev server (unless
 * TEMPORAL_ADDRESS), worker, gateway, and a simulator per carrier when no carrier is configured.
 * A crashed worker or gateway is restarted, which is also how to watch a call survive `kill -9`.
 */

export const STACK_FILE = path.join(PROJECT_ROOT, '.data', 'stack.json');

async function main(): Promise<void> {
  const config = loadConfig();
  const log = (line: string) => console.log(line);
  mkdirSync(config.temporal.dataDir, { recursive: true });

  let server: DevServer | undefined;
  let address = config.temporal.address;
  let uiUrl = process.env.TEMPORAL_UI_URL;
  if (!address) {
    const dbFile = path.join(config.temporal.dataDir, 'temporal.sqlite');
    log(`Starting the embedded Temporal dev server (SQLite in ${path.relative(process.cwd(), dbFile) || dbFile}) ...`);
    server = await startDevServer({
      dbFile,
      port: config.temporal.port,
      uiPort: config.temporal.uiPort,
      log,
      projectRoot: PROJECT_ROOT,
    });
    address = server.address;
    uiUrl = server.uiUrl;
  } else {
    log(`Using Temporal at ${address} (TEMPORAL_ADDRESS is set; starting no server)`);
  }

  const bundle = await bundleWorkflowsToFile(path.join(config.temporal.dataDir, 'workflow-bundle.js'));
  const stack: Stack = await startStack({
    temporalAddress: address,
    temporalUiUrl: uiUrl,
    workflowBundlePath: bundle,
    gatewayPort: config.gateway.port,
    keyFile: path.join(config.temporal.dataDir, 'simulator-key.json'),
    log,
  });
  supervise(stack, log);

  writeFileSync(
    STACK_FILE,
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
  log('');
  // GATEWAY_PROCESSES reaches the gateway part through the environment: its main forks that many on the one port.
  const gateways = config.gateway.processes;
  log(`  Gateway       ${stack.gatewayUrl}${gateways > 1 ? ` (${gateways} processes, GATEWAY_PROCESSES)` : ''}`);
  if (config.gateway.apiKeys.length === 0) log('  REST API      loopback clients only (set API_KEYS to serve others)');
  // Every carrier the gateway serves: simulated, or configured with a real account.
  const served = PROVIDERS.filter((c) => stack.simulatorUrls[c] || process.env[SIMULATORS[c].configuredBy]);
  for (const carrier of served)
    log(`  Webhooks      ${carrier}: ${SIMULATORS[carrier].webhookUrls(config.gateway.publicBaseUrl).join(', ')}`);
  if (uiUrl) log(`  Temporal UI   ${uiUrl}`);
  log(`  Temporal      ${address}`);
  const simulated = Object.entries(stack.simulatorUrls);
  if (simulated.length === 0) log('  Carriers      as configured (no simulators)');
  for (const [carrier, url] of simulated) log(`  Simulator     ${carrier} at ${url} (no carrier credentials set)`);
  log('');
  log('Try `npm run demo` in another terminal. Ctrl-C stops everything.');

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    log('Stopping ...');
    await stack.stop();
    await server?.stop();
    rmSync(STACK_FILE, { force: true });
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());

  /** Restarts a part that died on its own (not during shutdown). */
  function supervise(s: Stack, say: (line: string) => void): void {
    const watchWorker = (worker: Stack['worker']) => {
      void worker.exited.then(async (code) => {
        if (stopping) return;
        say(`worker exited (${code}); starting a new one`);
        watchWorker(await s.startWorker());
      });
    };
    watchWorker(s.worker);
    void s.gateway.exited.then((code) => {
      if (!stopping) {
        say(`gateway exited (${code}); stopping`);
        void stop();
      }
    });
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
