import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { execFileSync } from 'node:child_process';
import { loadConfig, PROJECT_ROOT } from '../src/config';
import { runningStackFile } from '../src/dev/stack';
import { resolveTemporalCli } from '../src/dev/temporal-cli';

/**
 * Saves histories of finished sessions from a running stack (`npm start` + `npm run demo`) as replay
 * fixtures: one per workflow type, carrier and outcome. `test/unit/workflows/replay.test.ts` replays them
 * against the current workflow code, so a change that breaks determinism for calls already in flight fails
 * CI. Re-record (and review the diff) when a change is meant to be incompatible and is patched.
 * `TEMPORAL_ADDRESS` reads another server (a test run's, say); `RECORD_QUERY` narrows the sessions, e.g.
 * `CallFlow IN ('supportQueue', 'queueCallback')` for the queue's callers and callbacks.
 */
const OUT = path.join(PROJECT_ROOT, 'test', 'fixtures', 'histories');

async function main(): Promise<void> {
  const temporalAddress =
    process.env.TEMPORAL_ADDRESS ||
    (JSON.parse(readFileSync(runningStackFile(loadConfig().temporal.dataDir), 'utf8')) as { temporalAddress: string })
      .temporalAddress;
  const narrowed = process.env.RECORD_QUERY ? ` AND ${process.env.RECORD_QUERY}` : '';
  // The CLI writes histories in the JSON form the SDK's replayer reads (as the Web UI's download does).
  const cli = await resolveTemporalCli({ log: (line) => console.log(line), projectRoot: PROJECT_ROOT });
  const connection = await Connection.connect({ address: temporalAddress });
  const client = new Client({ connection });
  mkdirSync(OUT, { recursive: true });
  const seen = new Set<string>();
  try {
    for await (const execution of client.workflow.list({ query: `ExecutionStatus = 'Completed'${narrowed}` })) {
      const handle = client.workflow.getHandle(execution.workflowId, execution.runId);
      const result = (await handle.result()) as { flowResult?: string; success?: boolean } | undefined;
      const provider = execution.workflowId.split(':')[1] ?? 'fax';
      const outcome = (result?.flowResult ?? (result?.success ? 'sent' : 'failed'))
        .replace(/ at .*$/, '')
        .replace(/ after \d+ s$/, '') // a queue caller's wait: one fixture per agent outcome, not per second
        .replace(/[^a-z0-9]+/gi, '-')
        .toLowerCase();
      const name = `${execution.type}-${execution.workflowId.startsWith('fax:') ? 'fax' : provider}-${outcome}`.slice(
        0,
        90,
      );
      if (seen.has(name)) continue;
      seen.add(name);
      const json = execFileSync(
        cli,
        [
          'workflow',
          'show',
          '--address',
          temporalAddress,
          '--workflow-id',
          execution.workflowId,
          '--run-id',
          execution.runId,
          '--output',
          'json',
        ],
        { maxBuffer: 64 * 1024 * 1024 },
      );
      writeFileSync(path.join(OUT, `${name}.json`), json);
      console.log(`saved ${name}.json (${json.length} bytes)`);
    }
  } finally {
    await connection.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
