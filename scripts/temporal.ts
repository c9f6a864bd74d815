/**
 * `npm run temporal`: runs the embedded Temporal dev server in the foreground (state in
 * .data/temporal.sqlite) until Ctrl-C. With TEMPORAL_ADDRESS set it starts nothing.
 */
import path from 'node:path';
import { loadConfig, PROJECT_ROOT } from '../src/config';
import { startDevServer } from '../src/dev/dev-server';

async function main(): Promise<void> {
  const config = loadConfig();
  if (config.temporal.address) {
    console.log(`TEMPORAL_ADDRESS=${config.temporal.address} is set: using that server, starting nothing.`);
    return;
  }
  const log = (line: string): void => console.log(`[temporal] ${line}`);
  const server = await startDevServer({
    dbFile: path.join(config.temporal.dataDir, 'temporal.sqlite'),
    port: config.temporal.port,
    uiPort: config.temporal.uiPort,
    log,
    projectRoot: PROJECT_ROOT,
  });

  console.log(`Temporal frontend: ${server.address}  (TEMPORAL_ADDRESS=${server.address})`);
  console.log(`Temporal Web UI:   ${server.uiUrl ?? '(headless)'}`);
  console.log(`Server log:        ${path.relative(process.cwd(), server.logFile)}`);
  console.log('Press Ctrl-C to stop.');

  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: stopping the dev server ...`);
    server.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(err);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);

  const { code, signal } = await server.exited;
  if (!stopping) {
    console.error(`Temporal dev server exited unexpectedly (${signal ?? `code ${code}`}); see ${server.logFile}`);
    process.exit(1);
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
