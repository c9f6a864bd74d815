import { DefaultLogger, Runtime } from '@temporalio/worker';
import { loadConfig } from '../src/config';
import { logFormat, logWriter, type LogLevelName } from '../src/logging';
import { startTracing } from '../src/telemetry';
import { createWorker } from './create-worker';

/**
 * The worker process (`createWorker` with the environment's settings; FLOWS_PATH adds your flows). Logs, the
 * SDK's and the sessions' own (each with its workflowId), go to stdout as JSON lines or pretty (LOG_FORMAT).
 */
async function main(): Promise<void> {
  const config = loadConfig();
  const { metricsAddress } = config.worker;
  const write = logWriter(logFormat(config.logFormat));
  Runtime.install({
    logger: new DefaultLogger(config.worker.sdkLogLevel, ({ level, message, meta }) =>
      write({ level: level as LogLevelName, msg: message, ...meta }),
    ),
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
  // OpenTelemetry traces, when the OTEL_* environment asks for them (README, Traces).
  const tracing = await startTracing('durable-calls-worker');
  const worker = await createWorker({ config, tracing });
  if (worker.carriers.length === 0) {
    write({
      level: 'WARN',
      msg: 'no carrier configured (set the credentials of Telnyx, SignalWire or jambonz; see README); commands will fail until one is',
    });
  }
  // The stack (src/dev/processes.ts) waits for this line's `"event":"worker-ready"`.
  write({
    level: 'INFO',
    msg: `worker ready (task queue ${worker.taskQueue}, Temporal at ${worker.address})`,
    event: 'worker-ready',
    address: worker.address,
    taskQueue: worker.taskQueue,
    ...(config.worker.flowsPath && { flowsPath: config.worker.flowsPath }),
    ...(metricsAddress && { metrics: `http://${metricsAddress}/metrics` }),
  });
  try {
    await worker.run();
  } finally {
    await tracing?.shutdown();
  }
}

main().catch((err) => {
  console.error('worker failed:', err);
  process.exit(1);
});
