import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Provider } from '../calls/ids';
import { numberStatusUrl } from '../providers/signalwire/webhook';
import { partAvailable, startPart, type ManagedProcess } from './processes';

/**
 * The whole service on one machine: worker, gateway and (without carrier credentials) the Telnyx
 * simulator, as separate processes against one Temporal. Used by `npm start`, `npm run demo` and the
 * end-to-end tests, so all three run the same thing.
 */

export interface StackOptions {
  /** Temporal frontend, host:port. */
  temporalAddress: string;
  temporalUiUrl?: string;
  /** Pre-bundled workflow code for fast worker starts. */
  workflowBundlePath?: string;
  gatewayPort?: number;
  /** First simulator port; each simulated carrier takes the next one (0: random ports). */
  simulatorPort?: number;
  /** Simulated durations × this (tests use < 1). */
  simulatorTimeScale?: number;
  /** Extra environment for every part (overrides the process's own). */
  env?: NodeJS.ProcessEnv;
  /**
   * Carriers to simulate. Default: every carrier when none is configured (no `TELNYX_API_KEY`,
   * `SIGNALWIRE_PROJECT_ID` or `JAMBONZ_ACCOUNT_SID`), else none.
   */
  simulate?: Provider[];
  log?: (line: string) => void;
  /** Keeps the Telnyx simulator's key across restarts of the stack. */
  keyFile?: string;
}

export interface Stack {
  gatewayUrl: string;
  /** Base URL of each simulated carrier (its `/_sim/` control API lives there). */
  simulatorUrls: Partial<Record<Provider, string>>;
  temporalUiUrl?: string;
  worker: ManagedProcess;
  gateway: ManagedProcess;
  simulators: ManagedProcess[];
  /** Starts another worker (or a replacement after a kill). */
  startWorker(label?: string): Promise<ManagedProcess>;
  stop(): Promise<void>;
}

/** An Ed25519 key pair for the Telnyx simulator, kept in a file so a restarted simulator signs with the same key. */
function simulatorKeys(keyFile: string | undefined): { privatePem: string } {
  if (keyFile && existsSync(keyFile)) return JSON.parse(readFileSync(keyFile, 'utf8')) as { privatePem: string };
  const { privateKey } = generateKeyPairSync('ed25519');
  const keys = { privatePem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString() };
  if (keyFile) {
    mkdirSync(path.dirname(keyFile), { recursive: true });
    writeFileSync(keyFile, JSON.stringify(keys), { mode: 0o600 });
  }
  return keys;
}

/** Development credentials the simulators and our parts share; never valid at a real carrier. */
const DEV = {
  telnyxApiKey: 'KEY-simulator',
  signalwire: {
    projectId: '6f1d2c3b-0000-4000-8000-00000000de40',
    apiToken: 'PT-dev-token',
    signingKey: 'PSK-dev-signing-key',
  },
  // jambonz sids are UUIDs (the api server checks application_sid's format).
  jambonz: {
    accountSid: '9351f46a-678c-43f5-b8a6-d4eb58d131af',
    apiKey: 'dev-api-key',
    webhookSecret: 'wh_secret_dev',
    applicationSid: '7087fe50-8acb-4f3b-b820-97b573723aab',
  },
} as const;

const SIMULATED_CARRIERS: Provider[] = ['telnyx', 'signalwire', 'jambonz'];

/** A fax machine the simulated SignalWire answers at (3 pages, then success), for `npm run demo`. */
export const DEMO_FAX_NUMBER = '+15550009000';
const DEMO_FAX_MACHINES = { [DEMO_FAX_NUMBER]: { outcome: 'success', pages: 3 } };
const SIMULATOR_PART = {
  telnyx: 'simulator',
  signalwire: 'simulator-signalwire',
  jambonz: 'simulator-jambonz',
} as const;

function carriersConfigured(env: NodeJS.ProcessEnv): boolean {
  return Boolean(env.TELNYX_API_KEY || env.SIGNALWIRE_PROJECT_ID || env.JAMBONZ_ACCOUNT_SID);
}

export async function startStack(options: StackOptions): Promise<Stack> {
  const log = options.log ?? ((line: string) => console.log(line));
  const baseEnv: NodeJS.ProcessEnv = { ...process.env, ...options.env, TEMPORAL_ADDRESS: options.temporalAddress };
  if (options.temporalUiUrl) baseEnv.TEMPORAL_UI_URL = options.temporalUiUrl;
  if (options.workflowBundlePath) baseEnv.WORKFLOW_BUNDLE_PATH = options.workflowBundlePath;
  const gatewayPort = options.gatewayPort ?? Number(baseEnv.PORT || 3000);
  const gatewayUrl = `http://127.0.0.1:${gatewayPort}`;
  baseEnv.PUBLIC_BASE_URL ||= gatewayUrl;
  const simulate =
    options.simulate ??
    (carriersConfigured(baseEnv) ? [] : SIMULATED_CARRIERS.filter((c) => partAvailable(SIMULATOR_PART[c])));
  const firstPort = options.simulatorPort ?? Number(baseEnv.SIMULATOR_PORT || 8787);
  const simulatorEnv = (offset: number) => ({
    ...baseEnv,
    SIMULATOR_PORT: String(firstPort === 0 ? 0 : firstPort + offset),
    SIMULATOR_TIME_SCALE: String(options.simulatorTimeScale ?? baseEnv.SIMULATOR_TIME_SCALE ?? 1),
  });

  const simulators: ManagedProcess[] = [];
  const simulatorUrls: Partial<Record<Provider, string>> = {};
  const partEnv: NodeJS.ProcessEnv = {};
  if (simulate.includes('telnyx')) {
    const keys = simulatorKeys(options.keyFile);
    const connectionId = baseEnv.TELNYX_CONNECTION_ID || 'durable-calls-dev';
    const sim = await startPart('simulator', {
      log,
      env: {
        ...simulatorEnv(0),
        SIMULATOR_WEBHOOK_URL: `${gatewayUrl}/webhooks/telnyx`,
        SIMULATOR_PRIVATE_KEY: keys.privatePem,
        TELNYX_API_KEY: DEV.telnyxApiKey,
        TELNYX_CONNECTION_ID: connectionId,
      },
    });
    simulators.push(sim);
    simulatorUrls.telnyx = String(sim.ready.baseUrl).replace(/\/v2$/, '');
    Object.assign(partEnv, {
      TELNYX_API_KEY: DEV.telnyxApiKey,
      TELNYX_PUBLIC_KEY: String(sim.ready.publicKey),
      TELNYX_API_BASE_URL: String(sim.ready.baseUrl),
      TELNYX_CONNECTION_ID: connectionId,
    });
  }
  if (simulate.includes('signalwire')) {
    const creds = DEV.signalwire;
    const sim = await startPart('simulator-signalwire', {
      log,
      env: {
        ...simulatorEnv(1),
        SIMULATOR_SWML_URL: `${gatewayUrl}/webhooks/signalwire/swml`,
        SIMULATOR_FAXES: baseEnv.SIMULATOR_FAXES || JSON.stringify(DEMO_FAX_MACHINES),
        // The phone number's Status Change Webhook: how inbound calls' hang-ups reach their sessions.
        SIMULATOR_STATUS_CHANGE_URL: numberStatusUrl(baseEnv.PUBLIC_BASE_URL ?? gatewayUrl, creds.signingKey),
        SIGNALWIRE_PROJECT_ID: creds.projectId,
        SIGNALWIRE_API_TOKEN: creds.apiToken,
        SIGNALWIRE_SIGNING_KEY: creds.signingKey,
      },
    });
    simulators.push(sim);
    simulatorUrls.signalwire = String(sim.ready.baseUrl);
    Object.assign(partEnv, {
      SIGNALWIRE_API_BASE_URL: String(sim.ready.baseUrl),
      SIGNALWIRE_PROJECT_ID: creds.projectId,
      SIGNALWIRE_API_TOKEN: creds.apiToken,
      SIGNALWIRE_SIGNING_KEY: creds.signingKey,
    });
  }
  if (simulate.includes('jambonz')) {
    const creds = DEV.jambonz;
    const sim = await startPart('simulator-jambonz', {
      log,
      env: {
        ...simulatorEnv(2),
        SIMULATOR_CALL_HOOK_URL: `${gatewayUrl}/webhooks/jambonz?hook=call`,
        SIMULATOR_STATUS_HOOK_URL: `${gatewayUrl}/webhooks/jambonz?hook=status`,
        JAMBONZ_ACCOUNT_SID: creds.accountSid,
        JAMBONZ_API_KEY: creds.apiKey,
        JAMBONZ_WEBHOOK_SECRET: creds.webhookSecret,
        JAMBONZ_APPLICATION_SID: creds.applicationSid,
      },
    });
    simulators.push(sim);
    simulatorUrls.jambonz = String(sim.ready.baseUrl).replace(/\/v1$/, '');
    Object.assign(partEnv, {
      JAMBONZ_API_BASE_URL: String(sim.ready.baseUrl),
      JAMBONZ_ACCOUNT_SID: creds.accountSid,
      JAMBONZ_API_KEY: creds.apiKey,
      JAMBONZ_WEBHOOK_SECRET: creds.webhookSecret,
      JAMBONZ_APPLICATION_SID: creds.applicationSid,
    });
  }
  Object.assign(baseEnv, partEnv);

  const startWorker = (label?: string) => startPart('worker', { env: baseEnv, log, label });
  const [worker, gateway] = await Promise.all([
    startWorker(),
    startPart('gateway', { env: { ...baseEnv, PORT: String(gatewayPort) }, log }),
  ]);
  const workers = [worker];

  return {
    gatewayUrl,
    simulatorUrls,
    temporalUiUrl: options.temporalUiUrl,
    worker,
    gateway,
    simulators,
    async startWorker(label) {
      const next = await startWorker(label);
      workers.push(next);
      return next;
    },
    async stop() {
      await gateway.stop();
      await Promise.all(workers.map((w) => w.stop()));
      await Promise.all(simulators.map((s) => s.stop()));
    },
  };
}
