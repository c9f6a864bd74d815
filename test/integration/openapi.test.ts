import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { request } from 'undici';
import { eventually } from '../support/net';
import { startTestStack, type TestStack } from '../support/stack';

/**
 * The OpenAPI document the gateway serves describes what it really answers: the document is a sane OpenAPI 3
 * one, and real answers of a running stack (a placed call, its state, the list, problems, the queues) pass the
 * response schemas in it.
 */

interface OpenApiDocument {
  openapi: string;
  info: { title: string; version: string };
  paths: Record<string, Record<string, { responses: Record<string, unknown>; security?: unknown[] }>>;
  components: { schemas: Record<string, unknown>; securitySchemes: Record<string, { type: string }> };
}

interface Answer {
  status: number;
  contentType: string;
  body: unknown;
}

/** A JSON pointer into the document, as a URI fragment (paths hold `/` and `{}`). */
const pointer = (...parts: string[]) =>
  `#/${parts.map((p) => encodeURIComponent(p.replace(/~/g, '~0').replace(/\//g, '~1'))).join('/')}`;

describe('OpenAPI document', () => {
  let stack: TestStack;
  let doc: OpenApiDocument;
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);

  const call = async (method: 'GET' | 'POST', path: string, body?: unknown): Promise<Answer> => {
    const res = await request(`${stack.gatewayUrl}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.statusCode, contentType: String(res.headers['content-type']), body: await res.body.json() };
  };

  /** Fails unless the answer's status is documented for the route and its body passes that schema. */
  const expectDocumented = (route: string, method: string, answer: Answer) => {
    const mediaType = answer.contentType.split(';', 1)[0];
    const responses = doc.paths[route]?.[method]?.responses ?? {};
    expect(Object.keys(responses)).toContain(String(answer.status));
    const validate = ajv.getSchema(
      `openapi.json${pointer('paths', route, method, 'responses', String(answer.status), 'content', mediaType, 'schema')}`,
    );
    expect(validate).toBeDefined();
    if (!validate!(answer.body))
      throw new Error(`${method} ${route} ${answer.status}: ${ajv.errorsText(validate!.errors)}`);
  };

  beforeAll(async () => {
    stack = await startTestStack({ simulate: ['telnyx'] });
    const res = await request(`${stack.gatewayUrl}/openapi.json`);
    expect(res.statusCode).toBe(200);
    doc = (await res.body.json()) as OpenApiDocument;
    ajv.addSchema(doc, 'openapi.json');
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('is an OpenAPI 3 document of the REST API, with its security schemes and without the webhooks', () => {
    expect(doc.openapi).toMatch(/^3\.\d+\.\d+$/);
    expect(doc.info).toMatchObject({ title: 'durable-calls', version: expect.any(String) });
    expect(Object.keys(doc.paths).sort()).toEqual(
      expect.arrayContaining([
        '/calls',
        '/calls/{id}',
        '/faxes',
        '/faxes/{id}',
        '/faxes/{id}/cancel',
        '/queues',
        '/queues/{name}',
        '/queues/{name}/agents',
        '/healthz',
        '/readyz',
        '/metrics',
      ]),
    );
    expect(Object.keys(doc.paths).filter((p) => p.startsWith('/webhooks') || p.startsWith('/docs'))).toEqual([]);
    expect(doc.components.securitySchemes).toMatchObject({
      bearerKey: { type: 'http' },
      apiKeyHeader: { type: 'apiKey' },
    });
    expect(doc.components.schemas.Problem).toBeDefined();
    // Every operation answers something documented; the REST routes name the API key, the probes do not.
    for (const [path, operations] of Object.entries(doc.paths)) {
      for (const operation of Object.values(operations)) {
        expect(Object.keys(operation.responses).length).toBeGreaterThan(0);
        expect(Boolean(operation.security)).toBe(path !== '/healthz' && path !== '/readyz');
      }
    }
    // The document itself compiles as JSON Schema wherever a response schema is.
    expect(ajv.getSchema(`openapi.json${pointer('components', 'schemas', 'Problem')}`)).toBeDefined();
  });

  it('describes the real answers: a placed call, its state, the call list, problems, queues, health', async () => {
    const placed = await call('POST', '/calls', { to: '+15550003000', from: '+15550001000', provider: 'telnyx' });
    expect(placed.status).toBe(202);
    expectDocumented('/calls', 'post', placed);
    const { workflowId } = placed.body as { workflowId: string };

    const state = await call('GET', `/calls/${encodeURIComponent(workflowId)}`);
    expect(state.status).toBe(200);
    expectDocumented('/calls/{id}', 'get', state);

    const listed = await eventually('the call in the list', async () => {
      const list = await call('GET', '/calls?status=all&provider=telnyx&limit=500');
      const calls = (list.body as { calls: Array<{ workflowId: string }> }).calls;
      return calls.some((c) => c.workflowId === workflowId) ? list : undefined;
    });
    expectDocumented('/calls', 'get', listed);
    expect((listed.body as { calls: unknown[] }).calls).toContainEqual(
      expect.objectContaining({ workflowId, provider: 'telnyx', direction: 'outbound', to: '+15550003000' }),
    );

    const missing = await call('GET', '/calls/call:telnyx:no-such-call');
    expect(missing).toMatchObject({ status: 404, contentType: expect.stringContaining('application/problem+json') });
    expectDocumented('/calls/{id}', 'get', missing);

    const invalid = await call('POST', '/calls', { from: '+15550001000' });
    expect(invalid.status).toBe(400);
    expect(invalid.body).toMatchObject({ code: 'validation-failed' });
    expectDocumented('/calls', 'post', invalid);

    const badQuery = await call('GET', '/calls?limit=501');
    expect(badQuery.status).toBe(400);
    expectDocumented('/calls', 'get', badQuery);

    const queues = await call('GET', '/queues');
    expect(queues.status).toBe(200);
    expectDocumented('/queues', 'get', queues);

    expectDocumented('/healthz', 'get', await call('GET', '/healthz'));
    expectDocumented('/readyz', 'get', await call('GET', '/readyz'));
  });

  it('serves Swagger UI at /docs', async () => {
    const res = await request(`${stack.gatewayUrl}/docs/`);
    expect(res.statusCode).toBe(200);
    expect(await res.body.text()).toContain('swagger');
  });
});
