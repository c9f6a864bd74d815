import { buildTestGateway, type TestGateway } from './helper';

/**
 * Every REST API error is one RFC 9457 document (`application/problem+json`), whoever raises it: the key check,
 * schema validation, an unreadable body, a handler, the not-found handler. Webhook routes keep `{ error, reason }`.
 */

const JSON_PROBLEM = 'application/problem+json; charset=utf-8';

let gateway: TestGateway;
beforeAll(async () => {
  gateway = await buildTestGateway({ JAMBONZ_WEBHOOK_SECRET: 'jambonz-webhook-secret' });
});
afterAll(() => gateway.app.close());

const post = (url: string, payload: string) =>
  gateway.app.inject({ method: 'POST', url, headers: { 'content-type': 'application/json' }, payload });

describe('problem details', () => {
  it('reports a body that fails the schema as validation-failed, with the findings', async () => {
    const res = await post('/calls', JSON.stringify({ from: '+15550001000', colour: 'red' }));
    expect(res.statusCode).toBe(400);
    expect(res.headers['content-type']).toBe(JSON_PROBLEM);
    expect(res.json()).toEqual({
      type: 'urn:durable-calls:problem:validation-failed',
      title: 'Request failed validation',
      status: 400,
      detail: expect.stringMatching(/^body must/),
      instance: '/calls',
      code: 'validation-failed',
      errors: [expect.objectContaining({ path: '', keyword: expect.any(String), message: expect.any(String) })],
    });
  });

  it('reports a body that is not JSON as bad-request, saying why', async () => {
    const res = await post('/calls', '{"to": ');
    expect(res.statusCode).toBe(400);
    expect(res.headers['content-type']).toBe(JSON_PROBLEM);
    expect(res.json()).toMatchObject({ code: 'bad-request', status: 400, detail: expect.stringMatching(/JSON/) });
  });

  it('reports a handler refusal with its own members (invalid number names the field)', async () => {
    const res = await post('/calls', JSON.stringify({ to: 'not-a-number', from: '+15550001000' }));
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'invalid-number', title: 'Invalid number', field: 'to' });
  });

  it('reports an unknown path as not-found, without its query', async () => {
    const res = await gateway.app.inject({ method: 'GET', url: '/nowhere?secret=1' });
    expect(res.statusCode).toBe(404);
    expect(res.headers['content-type']).toBe(JSON_PROBLEM);
    expect(res.json()).toEqual({
      type: 'urn:durable-calls:problem:not-found',
      title: 'Not found',
      status: 404,
      detail: 'no route for GET /nowhere',
      instance: '/nowhere',
      code: 'not-found',
    });
  });

  it('reports a Temporal that does not answer as temporal-unavailable with retry-after, hiding the cause', async () => {
    const res = await gateway.app.inject({ method: 'POST', url: '/faxes/fax:abc/cancel' });
    // No fax carrier here, but cancelling names a workflow and goes to Temporal, which does not answer.
    expect(res.statusCode).toBe(503);
    expect(res.headers['retry-after']).toBe('1');
    expect(res.json()).toEqual(
      expect.objectContaining({ code: 'temporal-unavailable', detail: 'Temporal did not answer; retry later' }),
    );
  });

  it('leaves webhook replies in their { error, reason } shape', async () => {
    const res = await post('/webhooks/jambonz?hook=call', '{}');
    expect(res.statusCode).toBe(401);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.json()).toEqual({ error: 'invalid signature', reason: expect.any(String) });
  });
});
