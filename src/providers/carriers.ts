import type { Provider } from '../calls/ids';
import type { Config } from '../config';
import { createCarrierHttp } from './http';
import { createTelnyxAdapter, TELNYX_CALL_GONE_CODES } from './telnyx';
import type { CommandCarrier } from './types';
import type { CarrierHttp } from './http';

/** The carriers a process can talk to, built from configuration (one HTTP pool each). */
export interface ConfiguredCarrier {
  adapter: CommandCarrier;
  http: CarrierHttp;
}

export function createCarriers(config: Config): Partial<Record<Provider, ConfiguredCarrier>> {
  const carriers: Partial<Record<Provider, ConfiguredCarrier>> = {};
  if (config.telnyx.apiKey) {
    carriers.telnyx = {
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
  return carriers;
}

export async function closeCarriers(carriers: Partial<Record<Provider, ConfiguredCarrier>>): Promise<void> {
  await Promise.all(Object.values(carriers).map((c) => c?.http.close()));
}
