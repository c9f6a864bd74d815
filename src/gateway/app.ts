import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { Client, Connection } from '@temporalio/client';
import { PROVIDERS, type Provider } from '../calls';
import type { Config } from '../config';
import { CARRIERS, carrierSupports, type CarrierDefinition, type CarrierSettings } from '../providers/carriers';
import { callsApi } from './calls-api';
import { faxesApi } from './faxes-api';
import { createSessions } from './sessions';
import { WEBHOOK_PLUGINS } from './webhooks';

export interface GatewayDeps {
  config: Config;
  client: Client;
  connection: Connection;
  /** Flow names the REST API accepts (the worker's `FLOWS`). */
  flows: string[];
  temporalUiUrl?: string;
  logger?: FastifyServerOptions['logger'];
}

/**
 * The gateway as a fastify app that never listens by itself (tests and `main.ts` decide). Stateless:
 * any number can run side by side in front of the same Temporal.
 */
export async function buildGateway(deps: GatewayDeps): Promise<FastifyInstance> {
  const { config } = deps;
  const app = Fastify({ logger: deps.logger ?? { level: config.logLevel }, bodyLimit: 1024 * 1024 });
  const sessions = createSessions({
    client: deps.client,
    connection: deps.connection,
    taskQueue: config.temporal.taskQueue,
  });

  // Every carrier whose settings can verify its webhooks gets its plugin; the REST APIs serve the same ones.
  const providers: Provider[] = [];
  for (const provider of PROVIDERS) {
    if (!receivesWebhooks(provider, config)) continue;
    await WEBHOOK_PLUGINS[provider].register(app, config, sessions);
    providers.push(provider);
  }

  await app.register(callsApi, {
    sessions,
    providers,
    flows: deps.flows,
    sessionDefaults: config.session,
    temporalUiUrl: deps.temporalUiUrl ?? config.temporal.uiUrl,
    namespace: config.temporal.namespace,
  });
  await app.register(faxesApi, {
    client: deps.client,
    connection: deps.connection,
    taskQueue: config.temporal.taskQueue,
    providers: providers.filter((p) => carrierSupports(p, 'sendFax')),
    temporalUiUrl: deps.temporalUiUrl ?? config.temporal.uiUrl,
    namespace: config.temporal.namespace,
  });

  // Our errors are JSON with a reason; a 5xx never leaks internals.
  app.setErrorHandler((err: Error & { statusCode?: number; validation?: unknown }, request, reply) => {
    const status = err.statusCode ?? 500;
    if (status >= 500) request.log.error({ err }, 'request failed');
    return reply.code(status).send({
      error: status >= 500 ? 'internal error' : 'bad request',
      reason: status >= 500 ? undefined : err.message,
    });
  });
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({ error: 'not found', reason: `${request.method} ${request.url}` }),
  );
  return app;
}

function receivesWebhooks<P extends Provider>(provider: P, config: Config): boolean {
  const carrier = CARRIERS[provider] as CarrierDefinition<CarrierSettings[P]>;
  return carrier.receivesWebhooks(config[provider]);
}
