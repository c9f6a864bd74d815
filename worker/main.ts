import { existsSync } from 'node:fs';
import { Client } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { createActivities } from '../activities';
import { loadConfig, sharedSettings, temporalConnectionOptions } from '../src/config';
import { closeCarrierClients, createCarrierClients } from '../src/providers/carriers';
import { WORKFLOWS_PATH } from './bundle';

/**
 * The worker process: runs call-session workflows and carrier-command activities. SIGTERM/SIGINT drain it
 * gracefully (in-flight activities get `shutdownGraceTime`); SIGKILL loses nothing but the cache, since
 * Temporal holds every session's state.
 */
async function main(): Promise<void> {
  const config = loadConfig();
  const { metricsAddress } = config.worker;
  Runtime.install({
    logger: new DefaultLogger(config.worker.sdkLogLevel),
    shutdownSignals: ['SIGINT', 'SIGTERM'],
    // The SDK's own worker metrics (task slots, poll and schedule-to-start latencies, sticky cache), served by its
    // core. Opt-in: the port is per process, and several workers on one machine each need their own.
    ...(metricsAddress && {
      telemetryOptions: {
        metrics: {
          prometheus: { bindAddress: metricsAddress, countersTotalSuffix: true, useSecondsForDurations: true },
        },
      },
    }),
  });
  const connectionOptions = temporalConnectionOptions(config.temporal);
  const connection = await NativeConnection.connect(connectionOptions);
  const carriers = createCarrierClients(config, sharedSettings(config));
  if (Object.keys(carriers).length === 0) {
    console.warn(
      'worker: no carrier configured (set the credentials of Telnyx, SignalWire or jambonz; see README); commands will fail until one is',
    );
  }
  const bundlePath = config.worker.bundlePath;
  const worker = await Worker.create({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    ...(bundlePath && existsSync(bundlePath)
      ? { workflowBundle: { codePath: bundlePath } }
      : { workflowsPath: WORKFLOWS_PATH }),
    activities: createActivities({
      carriers,
      // Queue activities reach the queue workflows through a client on the worker's own connection.
      queues: {
        client: new Client({ connection, namespace: config.temporal.namespace }),
        taskQueue: config.temporal.taskQueue,
        queues: config.queues,
      },
    }),
    // A deploy (SIGTERM) stops polling, lets running activities finish and hands the sticky queue back at
    // once, so the next task of each session goes to another worker without waiting out any timeout.
    shutdownGraceTime: '10 seconds',
    stickyQueueScheduleToStartTimeout: config.worker.stickyScheduleToStartMs,
    maxConcurrentWorkflowTaskExecutions: config.worker.maxConcurrentWorkflowTasks,
  });
  console.log(
    JSON.stringify({
      event: 'worker-ready',
      address: connectionOptions.address,
      taskQueue: config.temporal.taskQueue,
      pid: process.pid,
      ...(metricsAddress && { metrics: `http://${metricsAddress}/metrics` }),
    }),
  );
  try {
    await worker.run();
  } finally {
    await closeCarrierClients(carriers);
    await connection.close();
  }
}

main().catch((err) => {
  console.error('worker failed:', err);
  process.exit(1);
});
