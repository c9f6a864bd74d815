import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { Client, Connection } from '@temporalio/client';
import type { Provider } from '../calls';
import type { Config } from '../config';
import { carrierSupports } from '../providers/carriers';
import { numberStatusUrl } from '../providers/signalwire';
import { createTelnyxAdapter } from '../providers/telnyx';
import { callsApi } from './calls-api';
import { jambonzWebhooks } from './jambonz-webhooks';
import { faxesApi } from './faxes-api';
import { createSessions } from './sessions';
import { signalwireWebhooks } from './signalwire-webhooks';
import { telnyxWebhooks } from './telnyx-webhooks';

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

  const providers: Provider[] = [];
  if (config.telnyx.apiKey || config.telnyx.publicKey) {
    providers.push('telnyx');
    const adapter = createTelnyxAdapter({
      connectionId: config.telnyx.connectionId,
      voice: config.telnyx.voice,
      publicKey: config.telnyx.publicKey,
    });
    await app.register(telnyxWebhooks, {
      adapter,
      sessions,
      routing: config.routing,
      sessionDefaults: config.session,
    });
  }

  if (config.signalwire.signingKey) {
    providers.push('signalwire');
    await app.register(signalwireWebhooks, {
      sessions,
      routing: config.routing,
      publicBaseUrl: config.gateway.publicBaseUrl,
      signingKey: config.signalwire.signingKey,
      documentWaitMs: config.signalwire.documentWaitMs,
      sessionDefaults: config.session,
    });
    // The phone number's Status Change Webhook (inbound hang-ups reach sessions this way): its token is ours.
    app.log.info(
      { statusChangeWebhook: numberStatusUrl(config.gateway.publicBaseUrl, config.signalwire.signingKey) },
      'signalwire configured',
    );
  }
  if (config.jambonz.webhookSecrets.length > 0) {
    providers.push('jambonz');
    await app.register(jambonzWebhooks, {
      sessions,
      routing: config.routing,
      secrets: config.jambonz.webhookSecrets,
      publicBaseUrl: config.gateway.publicBaseUrl,
      hookWaitMs: config.jambonz.hookWaitMs,
      recordingsDir: config.jambonz.recordingsDir,
      sessionDefaults: config.session,
    });
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
