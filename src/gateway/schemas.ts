import { readFileSync } from 'node:fs';
import path from 'node:path';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { Type, type TSchema } from 'typebox';
import { PROVIDERS } from '../calls';
import { PROJECT_ROOT } from '../config';
import { requiredScope } from './auth';
import { PROBLEMS, PROBLEM_CONTENT_TYPE, type ProblemCode } from './problem';

/**
 * Schemas shared by the REST API's routes, and the OpenAPI document built from every route's schema
 * (`GET /openapi.json`, Swagger UI at `/docs`). The routes' schemas are their types too (typebox type provider),
 * so the document, the validation and the handlers' types cannot drift apart.
 */

export const ProviderSchema = Type.Enum(PROVIDERS, { description: 'The carrier' });

/** Idempotency keys (`requestId`): the same key always names the same call or fax. */
export const RequestIdSchema = Type.String({
  pattern: '^[A-Za-z0-9._-]{1,64}$',
  description: 'Idempotency key: the same requestId always names the same call or fax',
});

/** Link to the workflow in the Temporal Web UI, when the gateway knows the UI's URL. */
export const TemporalUiUrlSchema = Type.Optional(Type.String({ description: 'The workflow in the Temporal Web UI' }));

/** RFC 9457 problem details (problem.ts): the REST API's one error shape. */
export const ProblemSchema = Type.Object(
  {
    type: Type.String({ description: 'urn:durable-calls:problem:<code>' }),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    instance: Type.String({ description: 'The request path' }),
    code: Type.Enum(Object.keys(PROBLEMS) as ProblemCode[], {
      description: 'The last part of `type`, for clients that switch on it',
    }),
    errors: Type.Optional(
      Type.Array(
        Type.Object(
          { path: Type.String(), message: Type.Optional(Type.String()), keyword: Type.String() },
          { additionalProperties: true },
        ),
        { description: 'validation-failed: what the schema found' },
      ),
    ),
  },
  { $id: 'Problem', additionalProperties: true, description: 'RFC 9457 problem details' },
);

const PROBLEM_DESCRIPTIONS: Record<number, string> = {
  400: 'Bad request (problem details)',
  401: 'No or wrong API key (problem details)',
  403: 'The API key lacks the scope (problem details)',
  404: 'Not found (problem details)',
  409: 'Conflict (problem details)',
  422: 'Not possible in this state (problem details)',
  503: 'Temporal did not answer; retry later (problem details)',
};

/**
 * Response entries for the problem statuses a route answers. The body is sent already serialized
 * (`sendProblem`), so these describe it without fastify serializing it again.
 */
export function problems(...statuses: number[]): Record<number, TSchema> {
  return Object.fromEntries(
    statuses.map((status) => [
      status,
      {
        description: PROBLEM_DESCRIPTIONS[status] ?? 'Problem details',
        content: { [PROBLEM_CONTENT_TYPE.split(';', 1)[0]]: { schema: Type.Ref('Problem') } },
      } as unknown as TSchema,
    ]),
  );
}

/** Every REST route behind the API keys answers these (auth.ts). */
export const AUTH_PROBLEMS = [401, 403] as const;

/** `securitySchemes` name of the API key, sent as a bearer token or `X-API-Key` (auth.ts). */
const SECURITY: Array<Record<string, string[]>> = [{ bearerKey: [] }, { apiKeyHeader: [] }];

/** The document's `info`, from package.json. */
function openApiInfo(): { title: string; version: string; description?: string } {
  const pkg = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as Record<string, string>;
  return { title: pkg.name, version: pkg.version, description: pkg.description };
}

/**
 * Registers the shared schemas, `@fastify/swagger` (it collects routes as they are added, so this comes before
 * them) with `GET /openapi.json`, and Swagger UI at `/docs`. Webhook routes are left out: carriers call them with
 * their own signatures and payloads (their specs are the carriers' documentation), no API client does.
 */
export async function registerOpenApi(app: FastifyInstance): Promise<void> {
  app.addSchema(ProblemSchema);
  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: openApiInfo(),
      components: {
        securitySchemes: {
          bearerKey: { type: 'http', scheme: 'bearer', description: 'Authorization: Bearer <API key>' },
          apiKeyHeader: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
        },
      },
    },
    // Shared schemas keep their $id as their name under components.schemas (`Problem`), not `def-0`.
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`),
    },
    transform: ({ schema, url, route }) => {
      // Schemaless routes are the carriers' (webhooks, the jambonz recording files): not part of the API.
      const hidden = url.startsWith('/webhooks/') || !schema;
      // The same rule the key check applies (auth.ts), so the document cannot promise an open route.
      const scope = requiredScope([route.method].flat()[0], url);
      return {
        url,
        schema: {
          ...schema,
          ...(hidden ? { hide: true } : {}),
          ...(scope ? { security: SECURITY, 'x-required-scope': scope } : {}),
        },
      };
    },
  });
  await app.register(fastifySwaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}

const TemporalStateSchema = Type.Union([Type.Literal('up'), Type.Literal('down'), Type.Literal('unknown')], {
  description: "Temporal's state as the last probe found it",
});

/** `/healthz`: liveness, open to balancers (no key). */
export const HEALTH_SCHEMA = {
  summary: 'Liveness',
  tags: ['health'],
  response: { 200: Type.Object({ status: Type.Literal('ok'), temporal: TemporalStateSchema }) },
};

/** `/readyz`: readiness, 503 while draining (no key). */
export const READY_SCHEMA = {
  summary: 'Readiness (503 while draining; with ?require=temporal also while Temporal is unreachable)',
  description:
    'For balancers and Kubernetes, plain `/readyz` does not depend on Temporal: while Temporal is down the gateways are what holds the calls (holding documents, fast 503s to Telnyx). `?require=temporal` answers 503 until Temporal answers too: a deploy gate or a smoke check.',
  tags: ['health'],
  querystring: Type.Object({ require: Type.Optional(Type.Literal('temporal')) }),
  response: {
    200: Type.Object({ status: Type.Literal('ready'), temporal: TemporalStateSchema }),
    503: Type.Object({
      status: Type.Union([Type.Literal('draining'), Type.Literal('temporal-unreachable')]),
      temporal: Type.Optional(TemporalStateSchema),
    }),
  },
};

/** `/metrics`: Prometheus text, behind the `metrics` scope. */
export const METRICS_SCHEMA = {
  summary: 'Prometheus metrics',
  tags: ['health'],
  response: {
    200: {
      description: 'Prometheus text exposition format',
      content: { 'text/plain': { schema: Type.String() } },
    },
    ...problems(...AUTH_PROBLEMS),
  },
};
