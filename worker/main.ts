import { existsSync } from 'node:fs';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { createActivities } from '../activities';
import { loadConfig } from '../src/config';
import { closeCarriers, createCarriers } from '../src/providers/carriers';
import { WORKFLOWS_PATH } from './bundle';

/**
 * The worker process: runs call-session workflows and carrier-command activities. SIGTERM/SIGINT drain it
 * gracefully (in-flight activities get `shutdownGraceTime`); SIGKILL loses nothing but the cache, since
 * Temporal holds every session's state.
 */
async function main(): Promise<void> {
  const config = loadConfig();
  Runtime.install({
    logger: new DefaultLogger((process.env.TEMPORAL_LOG_LEVEL as 'WARN') || 'WARN'),
    shutdownSignals: ['SIGINT', 'SIGTERM'],
  });
  const address = config.temporal.address ?? `127.0.0.1:${config.temporal.port}`;
  const connection = await NativeConnection.connect({ address });
  const carriers = createCarriers(config);
  if (Object.keys(carriers).length === 0) {
    console.warn('worker: no carrier configured (set TELNYX_API_KEY); commands will fail until one is');
  }
  const bundlePath = process.env.WORKFLOW_BUNDLE_PATH;
  const worker = await Worker.create({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    ...(bundlePath && existsSync(bundlePath)
      ? { workflowBundle: { codePath: bundlePath } }
      : { workflowsPath: WORKFLOWS_PATH }),
    activities: createActivities({ carriers }),
    shutdownGraceTime: '10 seconds',
  });
  console.log(
    JSON.stringify({ event: 'worker-ready', address, taskQueue: config.temporal.taskQueue, pid: process.pid }),
  );
  try {
    await worker.run();
  } finally {
    await closeCarriers(carriers);
    await connection.close();
  }
}

main().catch((err) => {
  console.error('worker failed:', err);
  process.exit(1);
});
