import fastifyWebsocket from '@fastify/websocket';
import Fastify, { type FastifyInstance, type FastifySchemaValidationError, type FastifyServerOptions } from 'fastify';
import type { Client, Connection } from '@temporalio/client';
import { PROVIDERS, type Provider } from '../calls';
import type { Config } from '../config';
import type { Tracing } from '../telemetry';
import { CARRIERS, faxCarriers, type CarrierDefinition, type CarrierSettings } from '../providers/carriers';
import { restAuth } from './auth';
import { callsApi } from './calls-api';
import { controlsApi } from './controls-api';
import { faxesApi } from './faxes-api';
import { sendProblem } from './problem';
import { createGatewayMetrics, instrumentGateway, instrumentSessions, type GatewayMetrics } from './metrics';
import { queuesApi } from './queues-api';
import { HEALTH_SCHEMA, METRICS_SCHEMA, READY_SCHEMA, registerOpenApi } from './schemas';
import { wallboard } from './wallboard';
import { createSessions } from './sessions';
import { WEBHOOK_PLUGINS } from './webhooks';
import { WEBSOCKET_OPTIONS } from './webhooks/jambonz-recordings';

export interface GatewayDeps {
  config: Config;
  client: Client;
  connection: Connection;
  /** Flow names the REST API accepts (the worker's `FLOWS`). */
  flows: string[];
  temporalUiUrl?: string;
  logger?: FastifyServerOptions['logger'];
  /** Where the gateway counts; by default its own registry, with the process's figures. */
  metrics?: GatewayMetrics;
  /** OpenTelemetry, when on: a server span per request (src/telemetry). */
  tracing?: Pick<Tracing, 'traceRequests'>;
}

/** How long a Temporal health answer is reused: a balancer probing every gateway often must not hammer Temporal. */
const HEALTH_CACHE_MS = 1000;

/**
 * Temporal's state as the last probe found it ('unknown' before the first answers). Reading it starts a new
 * probe when the answer is older than HEALTH_CACHE_MS, one at a time, and returns at once.
 */
export function temporalProbe(probe: () => Promise<boolean>, cacheMs = HEALTH_CACHE_MS) {
  let known: 'up' | 'down' | 'unknown' = 'unknown';
  let checkedAt = -Infinity;
  let running = false;
  return {
    state(): 'up' | 'down' | 'unknown' {
      if (!running && Date.now() - checkedAt >= cacheMs) {
        running = true;
        void probe()
          .catch(() => false)
          .then((up) => {
            known = up ? 'up' : 'down';
            checkedAt = Date.now();
            running = false;
          });
      }
      return known;
    },
  };
}

/** Per app: whether it is draining (SIGTERM). Kept beside the app so tests can drain one built in-process. */
const draining = new WeakSet<FastifyInstance>();

/**
 * Fails `/readyz` from now on, so the balancer stops sending this gateway new requests; it keeps serving the
 * ones that still arrive until `app.close()`.
 */
export function startDraining(app: FastifyInstance): void {
  draining.add(app);
}

export function isDraining(app: FastifyInstance): boolean {
  return draining.has(app);
}

/**
 * The gateway as a fastify app that never listens by itself (tests and `main.ts` decide). Stateless:
 * any number can run side by side in front of the same Temporal.
 */
export async function buildGateway(deps: GatewayDeps): Promise<FastifyInstance> {
  const { config } = deps;
  const app = Fastify({ logger: deps.logger ?? { level: config.logLevel }, bodyLimit: 1024 * 1024 });
  // First, so every route and plugin below is traced.
  deps.tracing?.traceRequests(app);
  // Errors fastify raises (schema validation, unreadable bodies) and any a handler throws: problem details for the
  // REST API (problem.ts); a 5xx never leaks internals. Set before any plugin is registered, since a plugin keeps
  // the error handler in force when it was registered (set last, fastify's own default answered the REST routes).
  // Webhook routes keep the `{ error, reason }` their own replies use: carriers read the status and log the body.
  app.setErrorHandler(
    (err: Error & { statusCode?: number; validation?: FastifySchemaValidationError[] }, request, reply) => {
      const status = err.statusCode ?? 500;
      if (status >= 500) request.log.error({ err }, 'request failed');
      if (request.url.startsWith('/webhooks/')) {
        return reply.code(status).send({
          error: status >= 500 ? 'internal error' : 'bad request',
          reason: status >= 500 ? undefined : err.message,
        });
      }
      if (status >= 500)
        return sendProblem(reply, status, 'internal-error', 'the gateway failed to handle the request');
      if (err.validation) {
        return sendProblem(reply, status, 'validation-failed', err.message, {
          errors: err.validation.map((v) => ({
            path: v.instancePath,
            message: v.message,
            keyword: v.keyword,
            params: v.params,
          })),
        });
      }
      return sendProblem(reply, status, 'bad-request', err.message);
    },
  );
  app.setNotFoundHandler((request, reply) =>
    sendProblem(reply, 404, 'not-found', `no route for ${request.method} ${request.url.split('?', 1)[0]}`),
  );

  const metrics = deps.metrics ?? createGatewayMetrics();
  const sessions = instrumentSessions(
    createSessions({
      client: deps.client,
      connection: deps.connection,
      taskQueue: config.temporal.taskQueue,
      workflowTaskTimeoutMs: config.sessionTaskTimeoutMs,
    }),
    metrics,
  );
  instrumentGateway(app, metrics, {
    telnyx: config.telnyx.webhookDeadlineMs,
    signalwire: config.signalwire.fetchDeadlineMs,
    jambonz: config.jambonz.hookDeadlineMs,
  });

  // While draining, every answer closes its connection: a keep-alive connection still busy when the listener
  // closes would otherwise hold the exit for fastify's 72 s keep-alive timeout, and the balancer or carrier
  // opens its next connection to a gateway that is staying.
  app.addHook('onSend', async (_request, reply, payload) => {
    if (isDraining(app)) reply.header('connection', 'close');
    return payload;
  });

  // Upgrades run through the router and its hooks (the jambonz recording socket checks its token before the
  // handshake); on the root, so an upgrade of a path no WebSocket route serves is answered and closed too.
  await app.register(fastifyWebsocket, WEBSOCKET_OPTIONS);
  // Before any route: the OpenAPI document (/openapi.json, /docs) collects routes as they are added.
  await registerOpenApi(app);
  // First, and on the root instance: the key check covers the REST routes every plugin below adds.
  await app.register(restAuth, { keys: config.gateway.apiKeys });

  // Every carrier whose settings can verify its webhooks gets its plugin; the REST APIs serve the same ones.
  const providers: Provider[] = [];
  for (const provider of PROVIDERS) {
    if (!receivesWebhooks(provider, config)) continue;
    await WEBHOOK_PLUGINS[provider].register(app, config, sessions);
    providers.push(provider);
  }

  await app.register(callsApi, {
    sessions,
    client: deps.client,
    connection: deps.connection,
    providers,
    flows: deps.flows,
    sessionDefaults: config.session,
    temporalUiUrl: deps.temporalUiUrl ?? config.temporal.uiUrl,
    namespace: config.temporal.namespace,
  });
  await app.register(controlsApi, { client: deps.client, connection: deps.connection, flows: deps.flows });
  await app.register(faxesApi, {
    client: deps.client,
    connection: deps.connection,
    taskQueue: config.temporal.taskQueue,
    providers: faxCarriers(providers),
    temporalUiUrl: deps.temporalUiUrl ?? config.temporal.uiUrl,
    namespace: config.temporal.namespace,
    liveness: config.session.liveness,
  });

  await app.register(queuesApi, { client: deps.client, taskQueue: config.temporal.taskQueue, queues: config.queues });
  await app.register(wallboard, { client: deps.client, connection: deps.connection, queues: config.queues });

  // Temporal's state as last probed, never awaited: a balancer's health check has a short timeout (HAProxy's
  // `timeout check`, 1 s in deploy/), and a probe of a Temporal that is down takes its whole deadline (the
  // client retries UNAVAILABLE until then). Awaiting it made every gateway miss its check in an outage, so the
  // balancer took them all out and answered the carriers 503 itself: exactly the calls the holds are for.
  const temporal = temporalProbe(() => sessions.healthy());
  // Liveness: 200 while the process runs, whatever Temporal does (restarting a gateway would not fix Temporal).
  app.get('/healthz', { schema: HEALTH_SCHEMA }, async (_request, reply) =>
    reply.code(200).send({ status: 'ok', temporal: temporal.state() }),
  );
  // Readiness, for the balancer: send this gateway requests unless it is draining. Not tied to Temporal: while
  // Temporal is down the gateways are what holds the calls (holding documents, carried events, fast 503s), and a
  // readiness that failed with Temporal would take every gateway out at once and leave the carriers a 503 from
  // the balancer instead. Temporal's state is in the body for whoever watches.
  app.get<{ Querystring: { require?: 'temporal' } }>('/readyz', { schema: READY_SCHEMA }, async (request, reply) => {
    if (isDraining(app)) return reply.code(503).send({ status: 'draining' });
    const state = temporal.state();
    // For a deploy gate or a smoke check, not for balancers (see above): ready only once Temporal answers too.
    if (request.query.require === 'temporal' && state !== 'up')
      return reply.code(503).send({ status: 'temporal-unreachable', temporal: state });
    return reply.code(200).send({ status: 'ready', temporal: state });
  });

  // For Prometheus: behind the `metrics` scope like the REST API (auth.ts), so a scrape key reads nothing else.
  app.get('/metrics', { schema: METRICS_SCHEMA }, async (_request, reply) =>
    reply.header('content-type', metrics.registry.contentType).send(await metrics.registry.metrics()),
  );

  return app;
}

function receivesWebhooks<P extends Provider>(provider: P, config: Config): boolean {
  const carrier = CARRIERS[provider] as CarrierDefinition<CarrierSettings[P]>;
  return carrier.receivesWebhooks(config[provider]);
}
