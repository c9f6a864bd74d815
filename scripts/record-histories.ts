import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { execFileSync } from 'node:child_process';
import { PROJECT_ROOT } from '../src/config';
import { resolveTemporalCli } from '../src/dev/temporal-cli';

/**
 * Saves histories of finished sessions from a running stack (`npm start` + `npm run demo`) as replay
 * fixtures: one per workflow type, carrier and outcome. `test/unit/workflows/replay.test.ts` replays them
 * against the current workflow code, so a change that breaks determinism for calls already in flight fails
 * CI. Re-record (and review the diff) when a change is meant to be incompatible and is patched.
 */
const OUT = path.join(PROJECT_ROOT, 'test', 'fixtures', 'histories');

async function main(): Promise<void> {
  const stack = JSON.parse(readFileSync(path.join(PROJECT_ROOT, '.data', 'stack.json'), 'utf8')) as {
    temporalAddress: string;
  };
  // The CLI writes histories in the JSON form the SDK's replayer reads (as the Web UI's download does).
  const cli = await resolveTemporalCli({ log: (line) => console.log(line), projectRoot: PROJECT_ROOT });
  const connection = await Connection.connect({ address: stack.temporalAddress });
  const client = new Client({ connection });
  mkdirSync(OUT, { recursive: true });
  const seen = new Set<string>();
  try {
    for await (const execution of client.workflow.list({ query: `ExecutionStatus = 'Completed'` })) {
      const handle = client.workflow.getHandle(execution.workflowId, execution.runId);
      const result = (await handle.result()) as { flowResult?: string; success?: boolean } | undefined;
      const provider = execution.workflowId.split(':')[1] ?? 'fax';
      const outcome = (result?.flowResult ?? (result?.success ? 'sent' : 'failed'))
        .replace(/ at .*$/, '')
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
          stack.temporalAddress,
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
