/**
 * jest `setupFilesAfterEnv` of the `integration` project: after each test file, every workflow still running on
 * this worker's server is terminated. Each jest worker has a server of its own and runs one file at a time, so
 * this only ends what the file itself left behind: a caller still on hold in a queue, a session whose test failed.
 * Left running, those sessions' tasks (long histories to replay) went to the next file's worker, which polls the
 * same task queue, and starved its own calls; and the next file's `queue:support` should start empty.
 */
import { Client, Connection } from '@temporalio/client';
import { testServerAddress } from './temporal-server';

afterAll(async () => {
  const connection = await Connection.connect({ address: testServerAddress() });
  try {
    const client = new Client({ connection });
    for await (const workflow of client.workflow.list({ query: "ExecutionStatus = 'Running'" })) {
      await client.workflow
        .getHandle(workflow.workflowId, workflow.runId)
        .terminate('test file over')
        .catch(() => undefined); // ended meanwhile
    }
  } finally {
    await connection.close();
  }
}, 60_000);
