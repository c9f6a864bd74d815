import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadConfig, PROJECT_ROOT } from '../src/config';
import { runningStackFile, startStack } from '../src/dev/stack';
import { ensureTemporalServer, startTemporalCluster } from '../src/dev/temporal-cluster';
import { resolveTemporalCli } from '../src/dev/temporal-cli';
import { bundleWorkflowsToFile } from '../worker/bundle';

/**
 * `npm run cluster`: the production shape on one machine. PostgreSQL (project-local, Debian's package), two
 * Temporal server processes built from source behind a TCP balancer, two workers, two gateways behind HAProxy,
 * and the simulators. Writes .data/stack.json like `npm start`, so `npm run demo` and the benches use it.
 *
 * CLUSTER_SERVERS (2), CLUSTER_WORKERS (2), CLUSTER_GATEWAYS (2), CLUSTER_PORT_BASE (17200: the Temporal servers'
 * ports, 20 each), PORT (gateway balancer, 3000).
 * `npm run cluster -- --build-only` only builds the Temporal server into .tools/ (CI does this before the tests).
 */

async function main(): Promise<void> {
  const log = (line: string) => console.log(line);
  const stackFile = runningStackFile(loadConfig().temporal.dataDir);
  if (process.argv.includes('--build-only')) {
    log(`Temporal server: ${ensureTemporalServer(log).server}`);
    return;
  }
  const dir = path.join(PROJECT_ROOT, '.data', 'cluster');
  mkdirSync(dir, { recursive: true });
  const cli = await resolveTemporalCli({ log, projectRoot: PROJECT_ROOT });
  const cluster = await startTemporalCluster({
    dir,
    servers: Number(process.env.CLUSTER_SERVERS ?? 2),
    portBase: Number(process.env.CLUSTER_PORT_BASE ?? 17200),
    log,
    cli,
  });
  const bundle = await bundleWorkflowsToFile(path.join(dir, 'workflow-bundle.js'));
  const stack = await startStack({
    temporalAddress: cluster.address,
    workflowBundlePath: bundle,
    gatewayPort: Number(process.env.PORT ?? 3000),
    gateways: Number(process.env.CLUSTER_GATEWAYS ?? 2),
    workers: Number(process.env.CLUSTER_WORKERS ?? 2),
    keyFile: path.join(dir, 'simulator-key.json'),
    dataDir: dir,
    log,
  });
  writeFileSync(
    stackFile,
    JSON.stringify({
      gatewayUrl: stack.gatewayUrl,
      simulatorUrls: stack.simulatorUrls,
      temporalAddress: cluster.address,
    }),
  );

  log('');
  log(
    `  Gateways      ${stack.gatewayUrl} (${stack.balancer?.kind ?? 'one gateway'}, ${stack.gateways.length} gateways)`,
  );
  log(`  Workers       ${stack.workers.length}`);
  log(
    `  Temporal      ${cluster.address} (TCP balancer) -> ${cluster.servers.map((s) => `${s.name} 127.0.0.1:${s.frontendPort}`).join(', ')}`,
  );
  log(`  PostgreSQL    127.0.0.1:${cluster.postgres.port} (data in ${path.relative(PROJECT_ROOT, dir)}/postgres)`);
  for (const [carrier, url] of Object.entries(stack.simulatorUrls)) log(`  Simulator     ${carrier} at ${url}`);
  log(`  Inspect       ${cli} workflow list --address ${cluster.address}`);
  log('');
  log('Try `npm run demo` in another terminal. Ctrl-C stops everything (the database stays for next time).');

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    log('Stopping ...');
    await stack.stop();
    await cluster.stop();
    rmSync(stackFile, { force: true });
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
