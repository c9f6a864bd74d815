import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Provider } from '../calls/ids';
import { applicationHookUrl } from '../providers/jambonz/webhook';
import { numberStatusUrl, SIGNALWIRE_WEBHOOK_PATHS } from '../providers/signalwire/webhook';
import { DEFAULT_APPLICATION_SID } from '../simulator/jambonz/defaults';
import { DEFAULT_CONNECTION_ID } from '../simulator/telnyx/defaults';

/**
 * One row per carrier: how the dev stack runs its simulator as a process and what the gateway and worker are
 * told so that the simulator stands in for the carrier. Typed `Record<Provider, …>`, so a carrier added to
 * PROVIDERS does not compile until it has a row here.
 */

/** What a row's `start` gets from the stack. */
export interface SimulatorContext {
  /** Where the gateway listens, e.g. http://127.0.0.1:3000. */
  gatewayUrl: string;
  /** The gateway's public origin (PUBLIC_BASE_URL), which signed URLs carry. */
  publicBaseUrl: string;
  /** The stack's environment, for settings a user may override (SIMULATOR_FAXES, TELNYX_CONNECTION_ID). */
  env: NodeJS.ProcessEnv;
  /** Keeps the Telnyx simulator's key across restarts of the stack. */
  keyFile?: string;
  /** Starts the row's part with this extra environment; answers its parsed ready line. */
  run: (env: NodeJS.ProcessEnv) => Promise<Record<string, unknown>>;
}

export interface SimulatedCarrier {
  /** Base URL of the simulator (its `/_sim/` control API lives there). */
  baseUrl: string;
  /** Environment for the gateway and worker: the carrier's API base URL and credentials. */
  partEnv: NodeJS.ProcessEnv;
}

export interface SimulatorDefinition {
  /** The process part (a key of PART_ENTRY) and its entry file, without extension. */
  part: string;
  entry: string;
  /** The field of `POST /_sim/calls`'s answer that holds the placed call's carrier id. */
  callIdField: string;
  /** Set in the environment when a real account of this carrier is configured. */
  configuredBy: string;
  /** The URLs to configure at the carrier (or that the simulator calls), below the gateway's public base URL. */
  webhookUrls: (publicBaseUrl: string) => string[];
  start: (ctx: SimulatorContext) => Promise<SimulatedCarrier>;
}

/** A fax machine the simulated SignalWire and Telnyx answer at (3 pages, then success), for `npm run demo`. */
export const DEMO_FAX_NUMBER = '+15550009000';
const DEMO_FAX_MACHINES = { [DEMO_FAX_NUMBER]: { outcome: 'success', pages: 3 } };

/** Development credentials the simulators and our parts share; never valid at a real carrier. */
const DEV = {
  telnyx: { apiKey: 'KEY-simulator' },
  signalwire: {
    projectId: '6f1d2c3b-0000-4000-8000-00000000de40',
    apiToken: 'PT-dev-token',
    signingKey: 'PSK-dev-signing-key',
  },
  jambonz: {
    accountSid: '9351f46a-678c-43f5-b8a6-d4eb58d131af',
    apiKey: 'dev-api-key',
    webhookSecret: 'wh_secret_dev',
    applicationSid: DEFAULT_APPLICATION_SID,
  },
} as const;

/** An Ed25519 key pair for the Telnyx simulator, kept in a file so a restarted simulator signs with the same key. */
function telnyxKeys(keyFile: string | undefined): { privatePem: string } {
  if (keyFile && existsSync(keyFile)) return JSON.parse(readFileSync(keyFile, 'utf8')) as { privatePem: string };
  const { privateKey } = generateKeyPairSync('ed25519');
  const keys = { privatePem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString() };
  if (keyFile) {
    mkdirSync(path.dirname(keyFile), { recursive: true });
    writeFileSync(keyFile, JSON.stringify(keys), { mode: 0o600 });
  }
  return keys;
}

export const SIMULATORS = {
  telnyx: {
    part: 'simulator-telnyx',
    entry: 'src/simulator/telnyx/main',
    callIdField: 'call_control_id',
    configuredBy: 'TELNYX_API_KEY',
    webhookUrls: (base: string) => [`${base}/webhooks/telnyx`],
    start: async ({ gatewayUrl, env, keyFile, run }: SimulatorContext) => {
      const connectionId = env.TELNYX_CONNECTION_ID || DEFAULT_CONNECTION_ID;
      const credentials = { TELNYX_API_KEY: DEV.telnyx.apiKey, TELNYX_CONNECTION_ID: connectionId };
      const ready = await run({
        ...credentials,
        SIMULATOR_WEBHOOK_URL: SIMULATORS.telnyx.webhookUrls(gatewayUrl)[0],
        SIMULATOR_PRIVATE_KEY: telnyxKeys(keyFile).privatePem,
        // The same fax machines as on SignalWire: a number answers faxes whichever carrier sends them.
        SIMULATOR_FAXES: env.SIMULATOR_FAXES || JSON.stringify(DEMO_FAX_MACHINES),
      });
      return {
        baseUrl: String(ready.baseUrl).replace(/\/v2$/, ''),
        partEnv: {
          ...credentials,
          TELNYX_PUBLIC_KEY: String(ready.publicKey),
          TELNYX_API_BASE_URL: String(ready.baseUrl),
        },
      };
    },
  },
  signalwire: {
    part: 'simulator-signalwire',
    entry: 'src/simulator/signalwire/main',
    callIdField: 'call_id',
    configuredBy: 'SIGNALWIRE_PROJECT_ID',
    webhookUrls: (base: string) => [`${base}${SIGNALWIRE_WEBHOOK_PATHS.document}`],
    start: async ({ gatewayUrl, publicBaseUrl, env, run }: SimulatorContext) => {
      const credentials = {
        SIGNALWIRE_PROJECT_ID: DEV.signalwire.projectId,
        SIGNALWIRE_API_TOKEN: DEV.signalwire.apiToken,
        SIGNALWIRE_SIGNING_KEY: DEV.signalwire.signingKey,
      };
      const ready = await run({
        ...credentials,
        SIMULATOR_SWML_URL: SIMULATORS.signalwire.webhookUrls(gatewayUrl)[0],
        SIMULATOR_FAXES: env.SIMULATOR_FAXES || JSON.stringify(DEMO_FAX_MACHINES),
        // The phone number's Status Change Webhook: how inbound calls' hang-ups reach their sessions.
        SIMULATOR_STATUS_CHANGE_URL: numberStatusUrl(publicBaseUrl, DEV.signalwire.signingKey),
      });
      return {
        baseUrl: String(ready.baseUrl),
        partEnv: { ...credentials, SIGNALWIRE_API_BASE_URL: String(ready.baseUrl) },
      };
    },
  },
  jambonz: {
    part: 'simulator-jambonz',
    entry: 'src/simulator/jambonz/main',
    callIdField: 'call_sid',
    configuredBy: 'JAMBONZ_ACCOUNT_SID',
    webhookUrls: (base: string) => [applicationHookUrl(base, 'call'), applicationHookUrl(base, 'status')],
    start: async ({ gatewayUrl, run }: SimulatorContext) => {
      const credentials = {
        JAMBONZ_ACCOUNT_SID: DEV.jambonz.accountSid,
        JAMBONZ_API_KEY: DEV.jambonz.apiKey,
        JAMBONZ_WEBHOOK_SECRET: DEV.jambonz.webhookSecret,
        JAMBONZ_APPLICATION_SID: DEV.jambonz.applicationSid,
      };
      const ready = await run({
        ...credentials,
        SIMULATOR_CALL_HOOK_URL: applicationHookUrl(gatewayUrl, 'call'),
        SIMULATOR_STATUS_HOOK_URL: applicationHookUrl(gatewayUrl, 'status'),
      });
      return {
        baseUrl: String(ready.baseUrl).replace(/\/v1$/, ''),
        partEnv: { ...credentials, JAMBONZ_API_BASE_URL: String(ready.baseUrl) },
      };
    },
  },
} as const satisfies Record<Provider, SimulatorDefinition>;

export type SimulatorPart = (typeof SIMULATORS)[Provider]['part'];

/** Whether any real carrier account is configured: then the stack simulates none by default. */
export function carriersConfigured(env: NodeJS.ProcessEnv): boolean {
  return Object.values(SIMULATORS).some((sim) => Boolean(env[sim.configuredBy]));
}
