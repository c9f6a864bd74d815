/**
 * The jambonz simulator as its own process. Prints one JSON line on stdout once it listens,
 * `{"event":"simulator-ready","carrier":"jambonz","baseUrl":...}`; logs go to stderr; SIGTERM closes it.
 *
 * Env: SIMULATOR_PORT (8788), SIMULATOR_HOST (127.0.0.1), SIMULATOR_CALL_HOOK_URL and SIMULATOR_STATUS_HOOK_URL
 * (the gateway's application hooks on http://127.0.0.1:3000), JAMBONZ_ACCOUNT_SID, JAMBONZ_API_KEY,
 * JAMBONZ_WEBHOOK_SECRET, JAMBONZ_APPLICATION_SID, SIMULATOR_TIME_SCALE (1), SIMULATOR_WEBHOOK_TIMEOUT_MS
 * (10000), SIMULATOR_AGENTS and SIMULATOR_FAULTS (JSON), SIMULATOR_SPEC_PATH (the specs folder).
 */
import { applicationHookUrl } from '../../providers/jambonz';
import { jsonEnv, numberEnv, runSimulatorProcess } from '../process';
import type { AgentScript } from '../scripts';
import { DEFAULT_APPLICATION_SID, startJambonzSimulator, type JambonzFaultOptions } from '.';

/** Development credentials, used when the environment names none (the gateway's defaults must match). */
const DEV_ACCOUNT_SID = '9351f46a-678c-43f5-b8a6-d4eb58d131af';
const DEV_API_KEY = 'jambonz-simulator-dev-key';
const DEV_WEBHOOK_SECRET = 'wh_secret_simulator-dev';
const DEV_GATEWAY_URL = 'http://127.0.0.1:3000';

runSimulatorProcess({
  name: 'jambonz-sim',
  start: (log) =>
    startJambonzSimulator({
      port: numberEnv('SIMULATOR_PORT', 8788),
      host: process.env.SIMULATOR_HOST || '127.0.0.1',
      callHookUrl: process.env.SIMULATOR_CALL_HOOK_URL || applicationHookUrl(DEV_GATEWAY_URL, 'call'),
      statusHookUrl: process.env.SIMULATOR_STATUS_HOOK_URL || applicationHookUrl(DEV_GATEWAY_URL, 'status'),
      accountSid: process.env.JAMBONZ_ACCOUNT_SID || DEV_ACCOUNT_SID,
      apiKey: process.env.JAMBONZ_API_KEY || DEV_API_KEY,
      webhookSecret: process.env.JAMBONZ_WEBHOOK_SECRET || DEV_WEBHOOK_SECRET,
      applicationSid: process.env.JAMBONZ_APPLICATION_SID || DEFAULT_APPLICATION_SID,
      webhookTimeoutMs: numberEnv('SIMULATOR_WEBHOOK_TIMEOUT_MS', 10_000),
      timeScale: numberEnv('SIMULATOR_TIME_SCALE', 1),
      agents: jsonEnv<Record<string, AgentScript>>('SIMULATOR_AGENTS'),
      faults: jsonEnv<JambonzFaultOptions>('SIMULATOR_FAULTS'),
      specPath: process.env.SIMULATOR_SPEC_PATH || undefined,
      log,
    }),
  ready: (simulator) => ({
    event: 'simulator-ready',
    carrier: 'jambonz',
    baseUrl: simulator.baseUrl,
    accountSid: simulator.accountSid,
    applicationSid: simulator.applicationSid,
  }),
});
