import type { Provider } from '../calls/ids';
import type { Config } from '../config';
import { createCarrierHttp, type CarrierHttp } from './http';
import { createJambonzCommands, jambonzAuthHeaders } from './jambonz';
import { createSignalWireCommands, SIGNALWIRE_GONE_STATUSES } from './signalwire';
import { createTelnyxAdapter, TELNYX_CALL_GONE_CODES } from './telnyx';
import type { CarrierCommands } from './types';

/** A carrier the worker can command: its pure adapter and its HTTP pool. */
export interface ConfiguredCarrier {
  adapter: CarrierCommands;
  http: CarrierHttp;
}

export type ConfiguredCarriers = Partial<Record<Provider, ConfiguredCarrier>>;

function telnyx(config: Config): ConfiguredCarrier | undefined {
  if (!config.telnyx.apiKey) return undefined;
  return {
    adapter: createTelnyxAdapter({
      connectionId: config.telnyx.connectionId,
      voice: config.telnyx.voice,
      publicKey: config.telnyx.publicKey,
    }),
    http: createCarrierHttp({
      provider: 'telnyx',
      baseUrl: config.telnyx.apiBaseUrl,
      headers: { authorization: `Bearer ${config.telnyx.apiKey}` },
      gone: { goneCodes: TELNYX_CALL_GONE_CODES },
    }),
  };
}

function signalwire(config: Config): ConfiguredCarrier | undefined {
  const { apiBaseUrl, projectId, apiToken, signingKey } = config.signalwire;
  if (!apiBaseUrl || !projectId || !apiToken) return undefined;
  // Without a signing key no callback URL could be trusted, and no SWML fetch verified: refuse to start.
  if (!signingKey)
    throw new Error('SIGNALWIRE_SIGNING_KEY is required with SIGNALWIRE_PROJECT_ID (it signs our callback URLs)');
  const adapter = createSignalWireCommands({
    apiBaseUrl,
    projectId,
    apiToken,
    signingKey,
    publicBaseUrl: config.gateway.publicBaseUrl,
  });
  return {
    adapter,
    http: createCarrierHttp({
      provider: 'signalwire',
      baseUrl: apiBaseUrl,
      headers: { authorization: adapter.authorization },
      gone: { goneStatuses: SIGNALWIRE_GONE_STATUSES },
      classify: (outcome) => adapter.classify?.(outcome),
    }),
  };
}

function jambonz(config: Config): ConfiguredCarrier | undefined {
  const { apiBaseUrl, accountSid, apiKey, webhookSecrets, applicationSid } = config.jambonz;
  if (!apiBaseUrl || !accountSid || !apiKey) return undefined;
  // The secret keys the tokens of our hook URLs; without it no hook of a call could be trusted.
  if (webhookSecrets.length === 0)
    throw new Error(
      'JAMBONZ_WEBHOOK_SECRET is required with JAMBONZ_ACCOUNT_SID (it verifies hooks and keys our hook URLs)',
    );
  const adapter = createJambonzCommands({
    accountSid,
    publicBaseUrl: config.gateway.publicBaseUrl,
    hookSecret: webhookSecrets[0],
    applicationSid,
  });
  return {
    adapter,
    http: createCarrierHttp({
      provider: 'jambonz',
      baseUrl: apiBaseUrl,
      headers: jambonzAuthHeaders(apiKey),
      gone: { goneStatuses: [404, 422] },
      classify: (outcome) => adapter.classify?.(outcome),
    }),
  };
}

/** One entry per carrier: builds its client when the configuration has its credentials. */
const CARRIER_FACTORIES: Array<(config: Config) => ConfiguredCarrier | undefined> = [telnyx, signalwire, jambonz];

/** The carriers this process can talk to, built from configuration (one HTTP pool each). */
export function createCarriers(config: Config): ConfiguredCarriers {
  const carriers: ConfiguredCarriers = {};
  for (const factory of CARRIER_FACTORIES) {
    const carrier = factory(config);
    if (carrier) carriers[carrier.adapter.provider] = carrier;
  }
  return carriers;
}

export async function closeCarriers(carriers: ConfiguredCarriers): Promise<void> {
  await Promise.all(Object.values(carriers).map((c) => c?.http.close()));
}
