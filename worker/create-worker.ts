import { existsSync } from 'node:fs';
import { Client } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createActivities } from '../activities';
import { loadConfig, sharedSettings, temporalConnectionOptions, type Config } from '../src/config';
import { closeCarrierClients, createCarrierClients } from '../src/providers/carriers';
import type { Tracing } from '../src/telemetry';
import { tracedBundlePath, workflowCode } from './bundle';
import { workflowTaskSizing } from './sizing';

export interface CreateWorkerOptions {
  /** Default: `loadConfig()`, the environment. */
  config?: Config;
  /**
   * A module whose exported functions are your flows (TypeScript or JavaScript), bundled beside the built-in
   * ones and named by their export names. Default: `FLOWS_PATH`.
   */
  flowsPath?: string;
  /** Pre-bundled workflow code (`bundleWorkflowsToFile`); skips bundling at start. Default: `WORKFLOW_BUNDLE_PATH`. */
  workflowBundlePath?: string;
  /** OpenTelemetry (`startTracing`): the worker's interceptors and sink, and the traced variant of a bundle. */
  tracing?: Tracing;
}

export interface DurableCallsWorker {
  worker: Worker;
  /** Where it connected (host:port). */
  address: string;
  taskQueue: string;
  /** Carriers it can command (configured, or simulated through their environment). */
  carriers: string[];
  /** Runs until shutdown (`worker.shutdown()` or a signal the runtime handles), then closes its clients. */
  run(): Promise<void>;
}

/**
 * A Temporal worker for the call sessions, fax and queue workflows and the carrier-command activities, with
 * your own flows in the flow table. SIGTERM/SIGINT (Temporal's runtime) drain it gracefully: in-flight activities
 * get `shutdownGraceTime`; SIGKILL loses nothing but the cache, since Temporal holds every session's state.
 */
export async function createWorker(options: CreateWorkerOptions = {}): Promise<DurableCallsWorker> {
  const config = options.config ?? loadConfig();
  // TLS and API key too (Temporal Cloud), from the TEMPORAL_* settings.
  const connectionOptions = temporalConnectionOptions(config.temporal);
  const { address } = connectionOptions;
  const connection = await NativeConnection.connect(connectionOptions);
  const carriers = createCarrierClients(config, sharedSettings(config));
  const { tracing } = options;
  const plainBundle = options.workflowBundlePath ?? config.worker.bundlePath;
  // A prebuilt bundle runs workflow interceptors only if it was built with them: the traced variant.
  const bundlePath = plainBundle && tracing ? tracedBundlePath(plainBundle) : plainBundle;
  const prebuilt = bundlePath !== undefined && existsSync(bundlePath);
  const worker = await Worker.create({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    ...(prebuilt
      ? { workflowBundle: { codePath: bundlePath } }
      : workflowCode(options.flowsPath ?? config.worker.flowsPath)),
    ...tracing?.workerOptions({ workflowModules: !prebuilt }),
    activities: createActivities({
      carriers,
      // Queue activities reach the queue workflows through a client on the worker's own connection.
      queues: {
        client: new Client({
          connection,
          namespace: config.temporal.namespace,
          interceptors: tracing?.clientInterceptors,
        }),
        taskQueue: config.temporal.taskQueue,
        queues: config.queues,
      },
    }),
    // A deploy (SIGTERM) stops polling, lets running activities finish and hands the sticky queue back at
    // once, so the next task of each session goes to another worker without waiting out any timeout.
    shutdownGraceTime: '10 seconds',
    // Keep-alive heartbeats of a slow command (activities/) reach Temporal well inside its 1.5 s heartbeat
    // timeout; the SDK's default throttle (80% of the timeout) would leave too little room on a busy host.
    maxHeartbeatThrottleInterval: '500 ms',
    // The session cache, workflow-task slots and pollers (sizing.ts).
    ...workflowTaskSizing(config.worker),
  });
  return {
    worker,
    address,
    taskQueue: config.temporal.taskQueue,
    carriers: Object.keys(carriers),
    async run() {
      try {
        await worker.run();
      } finally {
        await closeCarrierClients(carriers);
        await connection.close();
      }
    },
  };
}
