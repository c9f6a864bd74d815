import { Client, Connection } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { FLOW_NAMES } from '../calls';
import { loadConfig, temporalConnectionOptions, type Config } from '../config';
import { gatewayLogger, logFormat } from '../logging';
import type { Tracing } from '../telemetry';
import { buildGateway } from './app';

export interface CreateGatewayOptions {
  /** Default: `loadConfig()`, the environment. */
  config?: Config;
  /** Flow names `POST /calls` accepts besides the built-in ones and those the routing table names. */
  flows?: string[];
  /** OpenTelemetry (`startTracing`): a server span per request, trace context carried into Temporal. */
  tracing?: Tracing;
}

/**
 * The gateway (carrier webhooks, REST API, health and metrics) as a fastify app with its own Temporal client;
 * `app.listen()` serves it, `app.close()` also closes the client. It connects to Temporal lazily, so it starts
 * (and answers 503 to webhooks, which carriers retry) even while Temporal is still coming up.
 */
export async function createGateway(options: CreateGatewayOptions = {}): Promise<FastifyInstance> {
  const config = options.config ?? loadConfig();
  // TLS and API key too (Temporal Cloud), from the TEMPORAL_* settings.
  const connection = Connection.lazy(temporalConnectionOptions(config.temporal));
  // An app's own flows (FLOWS_PATH) are known here by the routing table that names them.
  const routed = [config.routing.default, ...Object.values(config.routing.numbers)].map((route) => route.flow);
  const app = await buildGateway({
    config,
    client: new Client({
      connection,
      namespace: config.temporal.namespace,
      interceptors: options.tracing?.clientInterceptors,
    }),
    tracing: options.tracing,
    connection,
    flows: [...new Set([...FLOW_NAMES, ...routed, ...(options.flows ?? [])])],
    logger: gatewayLogger(config.logLevel, logFormat(config.logFormat)),
  });
  app.addHook('onClose', () => connection.close());
  return app;
}
