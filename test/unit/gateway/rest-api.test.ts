import { randomBytes } from 'node:crypto';
import type { InjectOptions } from 'fastify';
import { loadConfig, parseApiKeys } from '../../../src/config';
import { isDraining, startDraining, temporalProbe } from '../../../src/gateway/app';
import { isLoopback, requiredScope } from '../../../src/gateway/auth';
import { telnyxAccount } from '../../support/telnyx-client';
import { buildTestGateway, type TestGateway } from './helper';

/**
 * The REST API's keys, the small REST fixes and readiness, through `app.inject` on the real gateway whose
 * Temporal does not answer: a request that passes the key check reaches its handler (a 404 decided without
 * Temporal, or a 503 after Temporal was tried); one that does not never reaches Temporal.
 */

const REMOTE = '203.0.113.7';
const FULL = 'full-access-key-0123456789';
const OLD = 'old-rotated-key-0123456789';
const READER = 'read-only-key-0123456789ab';
const telnyx = telnyxAccount();
const carriers = {
  TELNYX_PUBLIC_KEY: telnyx.publicKey,
  JAMBONZ_WEBHOOK_SECRET: 'jambonz-webhook-secret',
};
const placeCall = { to: '+15550003000', from: '+15550001000' };
const recording = `/recordings/jambonz/${randomBytes(16).toString('hex')}.wav`;

const send = (gateway: TestGateway, options: InjectOptions) =>
  gateway.app.inject({ remoteAddress: REMOTE, ...options });
const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

/** An RFC 9457 problem document, as every REST error is. */
const problem = (status: number, code: string, detail: unknown = expect.any(String)) => ({
  type: `urn:durable-calls:problem:${code}`,
  title: expect.any(String),
  status,
  detail,
  instance: expect.stringMatching(/^\//),
  code,
});

const unauthorized = (
  gateway: TestGateway,
  res: { statusCode: number; headers: Record<string, unknown>; json(): unknown },
) => {
  expect(res.statusCode).toBe(401);
  expect(res.headers['content-type']).toBe('application/problem+json; charset=utf-8');
  expect(res.json()).toEqual(problem(401, 'unauthorized'));
  expect(gateway.temporalCalls).toEqual([]);
};

describe('without API_KEYS: loopback only', () => {
  let gateway: TestGateway;
  beforeAll(async () => {
    gateway = await buildTestGateway(carriers);
  });
  afterAll(() => gateway.app.close());
  beforeEach(() => {
    gateway.temporalCalls.length = 0;
  });

  it.each([
    ['POST', '/calls'],
    ['GET', '/calls/call:telnyx:abc'],
    ['POST', '/faxes'],
    ['GET', '/faxes/fax:abc'],
    ['POST', '/faxes/fax:abc/cancel'],
    ['GET', recording],
  ] as const)('refuses %s %s from a non-loopback client with 401 saying keys are required', async (method, url) => {
    const res = await send(gateway, { method, url, ...(method === 'POST' ? { payload: placeCall } : {}) });
    unauthorized(gateway, res);
    expect(res.json().detail).toMatch(/API_KEYS/);
  });

  it('serves loopback clients (IPv4, IPv6 and IPv4-mapped) as before', async () => {
    for (const remoteAddress of ['127.0.0.1', '127.8.9.10', '::1', '::ffff:127.0.0.1']) {
      gateway.temporalCalls.length = 0;
      const res = await send(gateway, { method: 'POST', url: '/calls', payload: placeCall, remoteAddress });
      // Past the key check: the handler tried Temporal, which does not answer here.
      expect(res.statusCode).toBe(503);
      expect(gateway.temporalCalls).toContain('StartWorkflowExecution');
      const rec = await send(gateway, { method: 'GET', url: recording, remoteAddress });
      expect(rec.statusCode).toBe(404);
      expect(rec.json()).toEqual(problem(404, 'not-found', 'no such recording'));
    }
  });

  it('leaves webhooks to their signature check and health probes open', async () => {
    const hook = await send(gateway, { method: 'POST', url: '/webhooks/telnyx', payload: '{}' });
    expect(hook.statusCode).toBe(401);
    expect(hook.json()).toMatchObject({ error: 'invalid signature' });
    expect((await send(gateway, { method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    expect((await send(gateway, { method: 'GET', url: '/readyz' })).statusCode).toBe(200);
  });
});

describe('with API_KEYS', () => {
  let gateway: TestGateway;
  beforeAll(async () => {
    // Two full keys during a rotation (new first, old still accepted) and a read-only one.
    gateway = await buildTestGateway({ ...carriers, API_KEYS: `${FULL}, ${OLD}:read+calls,${READER}:read` });
  });
  afterAll(() => gateway.app.close());
  beforeEach(() => {
    gateway.temporalCalls.length = 0;
  });

  it('answers 401 without a key, even on loopback', async () => {
    unauthorized(gateway, await send(gateway, { method: 'GET', url: '/calls/call:telnyx:abc' }));
    unauthorized(
      gateway,
      await send(gateway, { method: 'POST', url: '/calls', payload: placeCall, remoteAddress: '127.0.0.1' }),
    );
  });

  it('answers 401 to a wrong key, one differing only in length, and a malformed header', async () => {
    for (const headers of [
      bearer('wrong-key-0123456789abcdef'),
      bearer(`${FULL}x`),
      bearer(FULL.slice(0, -1)),
      { authorization: FULL },
      { 'x-api-key': 'wrong-key-0123456789abcdef' },
    ]) {
      const res = await send(gateway, { method: 'POST', url: '/calls', payload: placeCall, headers });
      unauthorized(gateway, res);
      expect(res.headers['www-authenticate']).toBe('Bearer');
    }
  });

  it('lets a right key through, as a bearer token or X-API-Key', async () => {
    for (const headers of [bearer(FULL), { 'x-api-key': FULL }]) {
      gateway.temporalCalls.length = 0;
      const res = await send(gateway, { method: 'POST', url: '/calls', payload: placeCall, headers });
      expect(res.statusCode).toBe(503);
      expect(gateway.temporalCalls).toContain('StartWorkflowExecution');
    }
  });

  it('accepts both keys of a rotation', async () => {
    for (const key of [FULL, OLD]) {
      gateway.temporalCalls.length = 0;
      const res = await send(gateway, { method: 'POST', url: '/faxes/fax:abc/cancel', headers: bearer(key) });
      expect(res.statusCode).toBe(503);
      expect(gateway.temporalCalls).toContain('SignalWorkflowExecution');
    }
  });

  it('gives a read-only key 403 on what places or cancels, and lets it read', async () => {
    for (const [url, payload] of [
      ['/calls', placeCall],
      ['/faxes', { ...placeCall, documentUrl: 'https://example.com/a.pdf' }],
      ['/faxes/fax:abc/cancel', {}],
    ] as const) {
      const res = await send(gateway, { method: 'POST', url, payload, headers: bearer(READER) });
      expect(res.statusCode).toBe(403);
      expect(res.json()).toEqual({
        ...problem(403, 'forbidden', 'this API key lacks the "calls" scope'),
        requiredScope: 'calls',
      });
    }
    expect(gateway.temporalCalls).toEqual([]);
    const read = await send(gateway, { method: 'GET', url: '/calls/call:telnyx:abc', headers: bearer(READER) });
    expect(read.statusCode).toBe(503);
    expect(gateway.temporalCalls).toContain('QueryWorkflow');
    const rec = await send(gateway, { method: 'GET', url: recording, headers: bearer(READER) });
    expect(rec.statusCode).toBe(404);
  });
});

describe('GET /calls/:id for ids that are not call sessions', () => {
  let gateway: TestGateway;
  beforeAll(async () => {
    gateway = await buildTestGateway(carriers);
  });
  afterAll(() => gateway.app.close());

  it('answers 404 pointing a fax id at /faxes/:id, without asking Temporal', async () => {
    const res = await gateway.app.inject({ method: 'GET', url: '/calls/fax:abc' });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual(problem(404, 'not-found', 'fax:abc is a fax: see GET /faxes/fax%3Aabc'));
    const queue = await gateway.app.inject({ method: 'GET', url: '/calls/queue:sales' });
    expect(queue.statusCode).toBe(404);
    expect(queue.json()).toMatchObject({ code: 'not-found', detail: expect.stringMatching(/not a call session/) });
    expect(gateway.temporalCalls).toEqual([]);
  });
});

describe('readiness', () => {
  let gateway: TestGateway;
  beforeAll(async () => {
    gateway = await buildTestGateway(carriers);
  });
  afterAll(() => gateway.app.close());

  it('stays ready while Temporal does not answer (the gateway holds calls then), asking Temporal at most once a second', async () => {
    gateway.temporalCalls.length = 0;
    // The first answer does not wait for the probe it starts; the next one reports what it found.
    const first = await gateway.app.inject({ method: 'GET', url: '/readyz' });
    expect(first.statusCode).toBe(200);
    expect(first.json()).toEqual({ status: 'ready', temporal: 'unknown' });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect((await gateway.app.inject({ method: 'GET', url: '/readyz' })).json()).toEqual({
      status: 'ready',
      temporal: 'down',
    });
    // A deploy gate asks for Temporal too: not ready while Temporal does not answer.
    const strict = await gateway.app.inject({ method: 'GET', url: '/readyz?require=temporal' });
    expect(strict.statusCode).toBe(503);
    expect(strict.json()).toEqual({ status: 'temporal-unreachable', temporal: 'down' });
    expect((await gateway.app.inject({ method: 'GET', url: '/readyz?require=other' })).statusCode).toBe(400);
    const health = await gateway.app.inject({ method: 'GET', url: '/healthz' });
    expect(health.statusCode).toBe(200);
    expect(health.json()).toEqual({ status: 'ok', temporal: 'down' });
    expect(gateway.temporalCalls.filter((c) => c === 'GetSystemInfo')).toHaveLength(1);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await gateway.app.inject({ method: 'GET', url: '/readyz' });
    expect(gateway.temporalCalls.filter((c) => c === 'GetSystemInfo')).toHaveLength(2);
  });

  it('answers at once while a probe of Temporal hangs (a balancer check times out in about a second)', async () => {
    let probes = 0;
    const probe = temporalProbe(() => {
      probes += 1;
      return new Promise<boolean>(() => undefined);
    }, 0);
    expect(probe.state()).toBe('unknown');
    expect(probe.state()).toBe('unknown');
    expect(probes).toBe(1);
  });

  it('fails at once when draining, without asking Temporal, and keeps serving requests', async () => {
    expect(isDraining(gateway.app)).toBe(false);
    startDraining(gateway.app);
    gateway.temporalCalls.length = 0;
    const res = await gateway.app.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(503);
    expect(res.json()).toEqual({ status: 'draining' });
    expect(gateway.temporalCalls).toEqual([]);
    const served = await gateway.app.inject({ method: 'GET', url: '/calls/fax:abc' });
    expect(served.statusCode).toBe(404);
  });
});

describe('API_KEYS parsing', () => {
  it('reads keys with and without scopes', () => {
    expect(parseApiKeys({ API_KEYS: `${FULL},${READER}:read, ${OLD}:calls+read` })).toEqual([
      { key: FULL, scopes: ['read', 'calls', 'metrics'] },
      { key: READER, scopes: ['read'] },
      { key: OLD, scopes: ['calls', 'read'] },
    ]);
    expect(parseApiKeys({})).toEqual([]);
  });

  it('refuses short keys and unknown scopes, naming the entry', () => {
    expect(() => parseApiKeys({ API_KEYS: `${FULL},short` })).toThrow(/entry 2.*16 characters/);
    expect(() => parseApiKeys({ API_KEYS: `${FULL}:read+admin` })).toThrow(/unknown scope "admin"/);
  });

  it('reads WORKER_METRICS_ADDRESS as host:port, unset by default, and refuses anything else', () => {
    expect(loadConfig({}).worker.metricsAddress).toBeUndefined();
    for (const address of ['127.0.0.1:9464', '0.0.0.0:9464', 'worker:9464', '[::1]:9464']) {
      expect(loadConfig({ WORKER_METRICS_ADDRESS: address }).worker.metricsAddress).toBe(address);
    }
    for (const bad of ['9464', '127.0.0.1', 'http://127.0.0.1:9464', '127.0.0.1:0', '127.0.0.1:70000']) {
      expect(() => loadConfig({ WORKER_METRICS_ADDRESS: bad })).toThrow(/WORKER_METRICS_ADDRESS must be host:port/);
    }
  });

  it('reads GATEWAY_DRAIN_MS and GATEWAY_PROCESSES with their defaults', () => {
    const defaults = loadConfig({}).gateway;
    expect([defaults.drainMs, defaults.processes]).toEqual([5000, 1]);
    const set = loadConfig({ GATEWAY_DRAIN_MS: '0', GATEWAY_PROCESSES: '3' }).gateway;
    expect([set.drainMs, set.processes]).toEqual([0, 3]);
    expect(() => loadConfig({ GATEWAY_PROCESSES: '0' })).toThrow(/GATEWAY_PROCESSES/);
  });
});

describe('auth helpers', () => {
  it('knows the REST routes and the scope each method needs', () => {
    expect(requiredScope('GET', '/calls/x?y=1')).toBe('read');
    expect(requiredScope('HEAD', '/recordings/jambonz/a.wav')).toBe('read');
    expect(requiredScope('GET', '/metrics')).toBe('metrics');
    expect(requiredScope('GET', '/metrics?x=1')).toBe('metrics');
    expect(requiredScope('POST', '/faxes/fax:1/cancel')).toBe('calls');
    expect(requiredScope('POST', '/webhooks/telnyx')).toBeUndefined();
    expect(requiredScope('GET', '/callsx')).toBeUndefined();
    expect(requiredScope('GET', '/readyz')).toBeUndefined();
  });

  it('treats only 127.0.0.0/8 and ::1 as loopback', () => {
    expect([isLoopback('127.0.0.1'), isLoopback('::1'), isLoopback('::ffff:127.0.0.2')]).toEqual([true, true, true]);
    expect([isLoopback('10.0.0.1'), isLoopback('::ffff:10.0.0.1'), isLoopback(undefined)]).toEqual([
      false,
      false,
      false,
    ]);
  });
});
