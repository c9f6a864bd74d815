import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import type { Provider } from '../../calls';
import type { Config } from '../../config';
import { createTelnyxAdapter } from '../../providers/telnyx';
import type { Sessions } from '../sessions';
import { jambonzWebhooks } from './jambonz';
import { signalwireWebhooks } from './signalwire';
import { telnyxWebhooks } from './telnyx';

/** How the gateway serves one carrier's webhooks: its plugin, with options read from the configuration. */
export interface WebhookPlugin {
  register(app: FastifyInstance, config: Config, sessions: Sessions): Promise<void>;
}

function webhookPlugin<Options extends object>(
  plugin: FastifyPluginAsync<Options>,
  options: (config: Config, sessions: Sessions) => Options,
): WebhookPlugin {
  return {
    async register(app, config, sessions) {
      await app.register(plugin, options(config, sessions));
    },
  };
}

/**
 * One webhook plugin per carrier, typed against `Provider`: a new provider name makes the compiler ask for
 * its entry here. `buildGateway` registers those whose settings can verify their webhooks.
 */
export const WEBHOOK_PLUGINS = {
  telnyx: webhookPlugin(telnyxWebhooks, (config, sessions) => ({
    adapter: createTelnyxAdapter(config.telnyx),
    sessions,
    deadlineMs: config.telnyx.webhookDeadlineMs,
    routing: config.routing,
    sessionDefaults: config.session,
  })),
  signalwire: webhookPlugin(signalwireWebhooks, (config, sessions) => ({
    sessions,
    routing: config.routing,
    publicBaseUrl: config.gateway.publicBaseUrl,
    signingKey: config.signalwire.signingKey ?? '',
    documentWaitMs: config.signalwire.documentWaitMs,
    fetchDeadlineMs: config.signalwire.fetchDeadlineMs,
    sessionDefaults: config.session,
  })),
  jambonz: webhookPlugin(jambonzWebhooks, (config, sessions) => ({
    sessions,
    routing: config.routing,
    secrets: config.jambonz.webhookSecrets,
    publicBaseUrl: config.gateway.publicBaseUrl,
    hookWaitMs: config.jambonz.hookWaitMs,
    hookDeadlineMs: config.jambonz.hookDeadlineMs,
    recordingsDir: config.jambonz.recordingsDir,
    sessionDefaults: config.session,
  })),
} satisfies { [P in Provider]: WebhookPlugin };
