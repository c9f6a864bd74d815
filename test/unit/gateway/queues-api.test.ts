import type { InjectOptions } from 'fastify';
import { requiredScope } from '../../../src/gateway/auth';
import { telnyxAccount } from '../../support/telnyx-client';
import { buildTestGateway, type TestGateway } from './helper';

/**
 * The queues' REST routes through `app.inject` on the real gateway whose Temporal does not answer: keys and
 * scopes, unknown queues and bad agent changes are answered without Temporal; a valid request reaches it.
 */

const REMOTE = '203.0.113.7';
const FULL = 'full-access-key-0123456789';
const READER = 'read-only-key-0123456789ab';
const env = {
  TELNYX_PUBLIC_KEY: telnyxAccount().publicKey,
  API_KEYS: `${FULL},${READER}:read`,
};
const signIn = { op: 'sign-in', agentId: 'alice', address: '+15550003001' };

describe('queues REST API', () => {
  let gateway: TestGateway;
  beforeAll(async () => {
    gateway = await buildTestGateway(env);
  });
  afterAll(() => gateway.app.close());
  beforeEach(() => {
    gateway.temporalCalls.length = 0;
  });
  const send = (key: string | undefined, options: InjectOptions) =>
    gateway.app.inject({
      remoteAddress: REMOTE,
      ...options,
      headers: key ? { authorization: `Bearer ${key}` } : {},
    });

  it('needs a key to read, and the calls scope to change agents', async () => {
    expect((await send(undefined, { method: 'GET', url: '/queues' })).statusCode).toBe(401);
    const res = await send(READER, { method: 'POST', url: '/queues/support/agents', payload: signIn });
    expect(res.statusCode).toBe(403);
    expect(res.json()).toMatchObject({ code: 'forbidden', requiredScope: 'calls' });
    expect(gateway.temporalCalls).toEqual([]);
    expect(requiredScope('POST', '/queues/support/agents')).toBe('calls');
    expect(requiredScope('GET', '/queues')).toBe('read');
  });

  it('answers 404 for a queue the queues file does not have, without asking Temporal', async () => {
    for (const options of [
      { method: 'GET', url: '/queues/nope' },
      { method: 'POST', url: '/queues/nope/agents', payload: signIn },
    ] as const) {
      const res = await send(FULL, options);
      expect(res.statusCode).toBe(404);
      expect(res.json()).toMatchObject({ code: 'not-found', status: 404 });
      expect(res.json().detail).toMatch(/no queue named "nope" \(queues: support\)/);
    }
    expect(gateway.temporalCalls).toEqual([]);
  });

  it.each([
    [{ agentId: 'alice' }, /op/],
    [{ op: 'dance', agentId: 'alice' }, /op/],
    [{ op: 'sign-in', agentId: 'alice' }, /address/],
    [{ op: 'sign-in', agentId: 'alice', address: 'not a number' }, /E\.164/],
    [{ op: 'set-state', agentId: 'alice' }, /state/],
    [{ op: 'set-state', agentId: 'alice', state: 'busy' }, /state/],
    [{ op: 'set-skills', agentId: 'alice', skills: { billing: -1 } }, /skills/],
  ])('refuses the agent change %j with 400, without asking Temporal', async (payload, reason) => {
    const res = await send(FULL, { method: 'POST', url: '/queues/support/agents', payload });
    expect(res.statusCode).toBe(400);
    // Problem details either way: schema failures in fastify's words, the per-op checks in ours.
    const body = res.json<{ code: string; detail: string }>();
    expect(['validation-failed', 'bad-request']).toContain(body.code);
    expect(body.detail).toMatch(reason);
    expect(gateway.temporalCalls).toEqual([]);
  });

  it('takes a valid change to Temporal (update-with-start), and answers 503 while Temporal is down', async () => {
    const res = await send(FULL, { method: 'POST', url: '/queues/support/agents', payload: signIn });
    expect(res.statusCode).toBe(503);
    expect(gateway.temporalCalls).toContain('ExecuteMultiOperation');
    gateway.temporalCalls.length = 0;
    const read = await send(READER, { method: 'GET', url: '/queues/support' });
    expect(read.statusCode).toBe(503);
    // A read first asks whether the queue's workflow runs (a closed one has no live figures), then queries it.
    expect(gateway.temporalCalls).toContain('DescribeWorkflowExecution');
  });
});
