import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode, DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { WORKFLOWS_PATH } from '../../../worker/bundle';

/**
 * Histories recorded from real calls (see scripts/record-histories.ts) replayed against the current
 * workflow code. A change that would make calls already in flight fail with a nondeterminism error after a
 * deploy fails here first. No server is needed: replay runs the workflow code against the history alone.
 */
const FIXTURES = path.resolve(__dirname, '../../fixtures/histories');
const files = readdirSync(FIXTURES).filter((f) => f.endsWith('.json'));

describe('replay of recorded call histories', () => {
  let workflowBundle: { code: string };
  beforeAll(async () => {
    try {
      Runtime.install({ logger: new DefaultLogger('WARN') });
    } catch {
      // already installed in this process
    }
    workflowBundle = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: new DefaultLogger('WARN') });
  }, 60_000);

  it('has fixtures for every carrier, the fax workflow and the queue', () => {
    for (const kind of ['telnyx', 'signalwire', 'jambonz', 'fax', 'queue']) {
      expect(files.some((f) => f.includes(`-${kind}-`))).toBe(true);
    }
    // The queue's callers too: a wait that ended with an agent, and a callback session.
    expect(files.some((f) => f.includes('-connected-to-agent-'))).toBe(true);
    expect(files.some((f) => f.includes('-callback-1-connected-to-agent-'))).toBe(true);
  });

  it.each(files)('%s replays without nondeterminism', async (file) => {
    // The replayer reads the JSON form the CLI and the Web UI write.
    const history = JSON.parse(readFileSync(path.join(FIXTURES, file), 'utf8')) as {
      events: Array<{ workflowExecutionStartedEventAttributes?: { workflowId?: string } }>;
    };
    // The real id matters: command keys, and so the carriers' hand-backs, are derived from it.
    const workflowId = history.events[0].workflowExecutionStartedEventAttributes?.workflowId;
    expect(workflowId).toBeDefined();
    await expect(Worker.runReplayHistory({ workflowBundle }, history, workflowId)).resolves.toBeUndefined();
  });
});
