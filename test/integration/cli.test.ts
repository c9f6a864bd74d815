import { spawn } from 'node:child_process';
import path from 'node:path';
import { eventually } from '../support/net';
import { startTestStack, type TestStack } from '../support/stack';
import { PROJECT_ROOT } from '../support/temporal-server';

/**
 * The `durable-calls` CLI as a user runs it: a child process talking to a real gateway (with an API key),
 * worker and Telnyx simulator. Human output, `--json`, and its exit codes (1 the API refused, 2 usage).
 */

const API_KEY = 'cli-test-key-0123456789abcdef';
const MAIN = path.join(PROJECT_ROOT, 'src', 'cli', 'main.ts');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

describe('durable-calls CLI', () => {
  let stack: TestStack;

  /** Runs the CLI; `apiKey: undefined` runs it without one. */
  const cli = (args: string[], options: { apiKey?: string } = { apiKey: API_KEY }): Promise<Run> =>
    new Promise((resolve, reject) => {
      const env: NodeJS.ProcessEnv = {
        ...process.env,
        DURABLE_CALLS_URL: stack.gatewayUrl,
        TS_NODE_TRANSPILE_ONLY: 'true',
      };
      delete env.DURABLE_CALLS_API_KEY;
      if (options.apiKey) env.DURABLE_CALLS_API_KEY = options.apiKey;
      const child = spawn(process.execPath, ['-r', require.resolve('ts-node/register/transpile-only'), MAIN, ...args], {
        cwd: PROJECT_ROOT,
        env,
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.once('error', reject);
      child.once('close', (code) => resolve({ code, stdout, stderr }));
    });

  const place = async () => {
    const run = await cli([
      'calls',
      'place',
      '--to',
      '+15550003000',
      '--from',
      '+15550001000',
      '--provider',
      'telnyx',
      '--json',
    ]);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    return (JSON.parse(run.stdout) as { workflowId: string }).workflowId;
  };

  beforeAll(async () => {
    stack = await startTestStack({ simulate: ['telnyx'], env: { API_KEYS: API_KEY } });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('places a call, lists it and shows it, in human form and as JSON', async () => {
    const workflowId = await place();
    expect(workflowId).toMatch(/^call:telnyx:/);

    const listed = await eventually('the call in calls list', async () => {
      const run = await cli(['calls', 'list', '--status', 'all', '--provider', 'telnyx']);
      return run.code === 0 && run.stdout.includes(workflowId) ? run : undefined;
    });
    expect(listed.stdout.split('\n')[0]).toMatch(/^WORKFLOW ID\s+STATUS\s+DIRECTION\s+FROM\s+TO/);

    const shown = await cli(['calls', 'show', workflowId, '--url', stack.gatewayUrl]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(new RegExp(`^workflowId\\s+${workflowId}$`, 'm'));
    expect(shown.stdout).toMatch(/^provider\s+telnyx$/m);

    const json = await cli(['--json', 'calls', 'show', workflowId]);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ workflowId, state: { provider: 'telnyx', to: '+15550003000' } });
  });

  it('reports the API refusing: 401 without a key, 404 for an unknown call (exit 1, problem on stderr)', async () => {
    const unauthorized = await cli(['calls', 'list'], { apiKey: undefined });
    expect(unauthorized).toMatchObject({ code: 1, stdout: '' });
    expect(unauthorized.stderr).toContain('Unauthorized: an API key is required');

    const missing = await cli(['calls', 'show', 'call:telnyx:no-such-call']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('Not found: no call session call:telnyx:no-such-call');
  });

  it('exits 2 on usage errors, before asking the API', async () => {
    const noFrom = await cli(['calls', 'place', '--to', '+15550003000']);
    expect(noFrom.code).toBe(2);
    expect(noFrom.stderr).toContain("required option '--from <number>' not specified");
    expect((await cli(['calls', 'place', '--to', '+1', '--from', '+1', '--arg', 'no-equals'])).code).toBe(2);
    expect((await cli(['queues', 'agent', 'support', 'a1'])).code).toBe(2);
    expect((await cli(['no-such-command'])).code).toBe(2);
  });

  it('lists the queues', async () => {
    const run = await cli(['queues', 'list']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^NAME\s+STARTED\s+WAITING/);
    expect(run.stdout).toMatch(/^support\s+/m);
  });

  // Needs POST /calls/:id/actions/:action (built on another branch): fails with a 404 problem until it is merged.
  it('hangs up a call: calls hangup', async () => {
    const workflowId = await place();
    const run = await cli(['calls', 'hangup', workflowId, '--json']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ workflowId, action: 'hangup' });
    const outcome = await stack.outcome(workflowId);
    expect(outcome).toBeDefined();
    expect((await stack.state(workflowId)).status).toBe('ended');
  });
});
