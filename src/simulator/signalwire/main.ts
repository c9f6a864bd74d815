/**
 * The SignalWire simulator as its own process (`ts-node src/simulator/signalwire/main.ts`). Prints one JSON
 * line on stdout once it listens, `{"event":"simulator-ready","carrier":"signalwire","baseUrl":...}`; logs
 * go to stderr; SIGTERM closes it.
 *
 * Env: SIMULATOR_PORT (8788), SIMULATOR_HOST (127.0.0.1), SIMULATOR_SWML_URL
 * (http://127.0.0.1:3000/webhooks/signalwire/swml), SIMULATOR_STATUS_CHANGE_URL (optional),
 * SIGNALWIRE_PROJECT_ID, SIGNALWIRE_API_TOKEN, SIGNALWIRE_SIGNING_KEY, SIMULATOR_TIME_SCALE (1),
 * SIMULATOR_AGENTS, SIMULATOR_FAXES and SIMULATOR_FAULTS (JSON), SIMULATOR_SPEC_PATH.
 */
import { jsonEnv, numberEnv, runSimulatorProcess } from '../process';
import type { AgentScript } from '../scripts';
import { startSignalWireSimulator, type FaxScript, type SignalWireFaultOptions } from '.';

// Development defaults, so `npm run`-style starts work without an account; real deployments set all three.
const DEV_PROJECT_ID = '00000000-0000-4000-8000-000000000001';
const DEV_API_TOKEN = 'PTsimulator-dev-token';
const DEV_SIGNING_KEY = 'PSKsimulator-dev-signing-key';

runSimulatorProcess({
  name: 'signalwire-sim',
  start: (log) =>
    startSignalWireSimulator({
      port: numberEnv('SIMULATOR_PORT', 8788),
      host: process.env.SIMULATOR_HOST || '127.0.0.1',
      swmlUrl: process.env.SIMULATOR_SWML_URL || 'http://127.0.0.1:3000/webhooks/signalwire/swml',
      statusChangeUrl: process.env.SIMULATOR_STATUS_CHANGE_URL || undefined,
      projectId: process.env.SIGNALWIRE_PROJECT_ID || DEV_PROJECT_ID,
      apiToken: process.env.SIGNALWIRE_API_TOKEN || DEV_API_TOKEN,
      signingKey: process.env.SIGNALWIRE_SIGNING_KEY || DEV_SIGNING_KEY,
      timeScale: numberEnv('SIMULATOR_TIME_SCALE', 1),
      agents: jsonEnv<Record<string, AgentScript>>('SIMULATOR_AGENTS'),
      faxes: jsonEnv<Record<string, FaxScript>>('SIMULATOR_FAXES'),
      faults: jsonEnv<SignalWireFaultOptions>('SIMULATOR_FAULTS'),
      specPath: process.env.SIMULATOR_SPEC_PATH || undefined,
      log,
    }),
  ready: (simulator) => ({
    event: 'simulator-ready',
    carrier: 'signalwire',
    baseUrl: simulator.baseUrl,
    projectId: simulator.projectId,
    spaceId: simulator.spaceId,
  }),
});
