/**
 * The Telnyx simulator as its own process (`npm run simulator`, or `npm run simulator telnyx`). Prints one JSON line on stdout once it
 * listens, `{"event":"simulator-ready","baseUrl":...,"publicKey":...}`; logs go to stderr.
 *
 * Env: SIMULATOR_PORT (8787), SIMULATOR_HOST (127.0.0.1), SIMULATOR_WEBHOOK_URL
 * (http://127.0.0.1:3000/webhooks/telnyx), TELNYX_API_KEY, SIMULATOR_TIME_SCALE (1), SIMULATOR_AGENTS,
 * SIMULATOR_FAXES (fax machines by number) and SIMULATOR_FAULTS (JSON), SIMULATOR_FAX_CONNECTION_ID (else
 * TELNYX_FAX_CONNECTION_ID, else the connection id), SIMULATOR_PRIVATE_KEY (Ed25519, PKCS8 PEM or base64, to keep the public key across
 * restarts), SIMULATOR_CONNECTION_ID (else TELNYX_CONNECTION_ID), SIMULATOR_SPEC_PATH.
 */
import { jsonEnv, numberEnv, runSimulatorProcess } from '../process';
import type { AgentScript } from '../scripts';
import { DEFAULT_CONNECTION_ID, startTelnyxSimulator, type FaultOptions, type TelnyxFaxScript } from '.';

const DEV_API_KEY = 'KEYsimulator-dev-key';

runSimulatorProcess({
  name: 'telnyx-sim',
  start: (log) =>
    startTelnyxSimulator({
      port: numberEnv('SIMULATOR_PORT', 8787),
      host: process.env.SIMULATOR_HOST || '127.0.0.1',
      webhookUrl: process.env.SIMULATOR_WEBHOOK_URL || 'http://127.0.0.1:3000/webhooks/telnyx',
      apiKey: process.env.TELNYX_API_KEY || DEV_API_KEY,
      connectionId: process.env.SIMULATOR_CONNECTION_ID || process.env.TELNYX_CONNECTION_ID || DEFAULT_CONNECTION_ID,
      timeScale: numberEnv('SIMULATOR_TIME_SCALE', 1),
      agents: jsonEnv<Record<string, AgentScript>>('SIMULATOR_AGENTS'),
      faxes: jsonEnv<Record<string, TelnyxFaxScript>>('SIMULATOR_FAXES'),
      faxConnectionId: process.env.SIMULATOR_FAX_CONNECTION_ID || process.env.TELNYX_FAX_CONNECTION_ID || undefined,
      faults: jsonEnv<FaultOptions>('SIMULATOR_FAULTS'),
      privateKey: process.env.SIMULATOR_PRIVATE_KEY || undefined,
      specPath: process.env.SIMULATOR_SPEC_PATH || undefined,
      log,
    }),
  ready: (simulator) => ({
    event: 'simulator-ready',
    baseUrl: simulator.baseUrl,
    publicKey: simulator.publicKeyBase64,
    connectionId: simulator.connectionId,
  }),
});
