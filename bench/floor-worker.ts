import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { TELNYX_CALL_GONE_CODES } from '../src/providers/telnyx';
import { createCarrierHttp } from '../src/providers/http';
import type { FloorActivities } from './floor-workflow';

/**
 * Child process: a worker for the floor workflow, with the same worker defaults and the same carrier
 * HTTP pool as the real worker. Env: TEMPORAL_ADDRESS, TEMPORAL_TASK_QUEUE, WORKFLOW_BUNDLE_PATH,
 * TELNYX_API_BASE_URL.
 */
async function main(): Promise<void> {
  const env = process.env as Record<string, string>;
  Runtime.install({ logger: new DefaultLogger('WARN'), shutdownSignals: ['SIGINT', 'SIGTERM'] });
  const connection = await NativeConnection.connect({ address: env.TEMPORAL_ADDRESS });
  const http = createCarrierHttp({
    provider: 'telnyx',
    baseUrl: env.TELNYX_API_BASE_URL,
    headers: { authorization: 'Bearer KEY-bench' },
    gone: { goneCodes: TELNYX_CALL_GONE_CODES },
  });
  const activities: FloorActivities = {
    async sendAction(callId, action) {
      await http.send({
        method: 'POST',
        path: `/calls/${encodeURIComponent(callId)}/actions/${action}`,
        body: {},
        operation: action,
      });
    },
  };
  const worker = await Worker.create({
    connection,
    taskQueue: env.TEMPORAL_TASK_QUEUE,
    workflowBundle: { codePath: env.WORKFLOW_BUNDLE_PATH },
    activities,
  });
  console.log(JSON.stringify({ event: 'floor-worker-ready', pid: process.pid }));
  try {
    await worker.run();
  } finally {
    await http.close();
    await connection.close();
  }
}

main().catch((err) => {
  console.error('floor worker failed:', err);
  process.exit(1);
});
