import type { Provider } from '../calls/ids';
import type { Config } from '../config';
import { createCarrierHttp, type CarrierHttp } from './http';
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
    adapter: createTelnyxAdapter({ connectionId: config.telnyx.connectionId, voice: config.telnyx.voice, publicKey: config.telnyx.publicKey }),
    http: createCarrierHttp({
      provider: 'telnyx',
      baseUrl: config.telnyx.apiBaseUrl,
      headers: { authorization: `Bearer ${config.telnyx.apiKey}` },
      gone: { goneCodes: TELNYX_CALL_GONE_CODES },
    }),
  };
}

/** One entry per carrier: builds its client when the configuration has its credentials. */
const CARRIER_FACTORIES: Array<(config: Config) => ConfiguredCarrier | undefined> = [telnyx];

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
