import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startPart, type ManagedProcess } from './processes';

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
  simulatorPort?: number;
  /** Simulated durations × this (tests use < 1). */
  simulatorTimeScale?: number;
  /** Extra environment for every part (overrides the process's own). */
  env?: NodeJS.ProcessEnv;
  /** Use the simulator even if `TELNYX_API_KEY` is set. */
  forceSimulator?: boolean;
  log?: (line: string) => void;
  /** Keeps the simulator's key across restarts of the stack. */
  keyFile?: string;
}

export interface Stack {
  gatewayUrl: string;
  simulatorUrl?: string;
  temporalUiUrl?: string;
  worker: ManagedProcess;
  gateway: ManagedProcess;
  simulator?: ManagedProcess;
  /** Starts another worker (or a replacement after a kill). */
  startWorker(label?: string): Promise<ManagedProcess>;
  stop(): Promise<void>;
}

/** An Ed25519 key pair for the simulator, kept in a file so a restarted simulator signs with the same key. */
function simulatorKeys(keyFile: string | undefined): { privatePem: string; publicBase64: string } {
  if (keyFile && existsSync(keyFile)) return JSON.parse(readFileSync(keyFile, 'utf8')) as { privatePem: string; publicBase64: string };
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const der = publicKey.export({ format: 'der', type: 'spki' });
  const keys = {
    privatePem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    // The raw key is the last 32 bytes of the SPKI DER; Telnyx shows it as base64.
    publicBase64: der.subarray(der.length - 32).toString('base64'),
  };
  if (keyFile) {
    mkdirSync(path.dirname(keyFile), { recursive: true });
    writeFileSync(keyFile, JSON.stringify(keys), { mode: 0o600 });
  }
  return keys;
}

export async function startStack(options: StackOptions): Promise<Stack> {
  const log = options.log ?? ((line: string) => console.log(line));
  const baseEnv: NodeJS.ProcessEnv = { ...process.env, ...options.env, TEMPORAL_ADDRESS: options.temporalAddress };
  if (options.temporalUiUrl) baseEnv.TEMPORAL_UI_URL = options.temporalUiUrl;
  if (options.workflowBundlePath) baseEnv.WORKFLOW_BUNDLE_PATH = options.workflowBundlePath;
  const gatewayPort = options.gatewayPort ?? Number(baseEnv.PORT || 3000);
  const gatewayUrl = `http://127.0.0.1:${gatewayPort}`;

  let simulator: ManagedProcess | undefined;
  if (options.forceSimulator || !baseEnv.TELNYX_API_KEY) {
    const keys = simulatorKeys(options.keyFile);
    const apiKey = 'KEY-simulator';
    baseEnv.TELNYX_CONNECTION_ID ||= 'durable-calls-dev';
    simulator = await startPart('simulator', {
      log,
      env: {
        ...baseEnv,
        SIMULATOR_PORT: String(options.simulatorPort ?? Number(baseEnv.SIMULATOR_PORT || 8787)),
        SIMULATOR_WEBHOOK_URL: `${gatewayUrl}/webhooks/telnyx`,
        SIMULATOR_PRIVATE_KEY: keys.privatePem,
        SIMULATOR_TIME_SCALE: String(options.simulatorTimeScale ?? baseEnv.SIMULATOR_TIME_SCALE ?? 1),
        TELNYX_API_KEY: apiKey,
      },
    });
    Object.assign(baseEnv, {
      TELNYX_API_KEY: apiKey,
      TELNYX_PUBLIC_KEY: String(simulator.ready.publicKey),
      TELNYX_API_BASE_URL: String(simulator.ready.baseUrl),
    });
  }

  const startWorker = (label?: string) => startPart('worker', { env: baseEnv, log, label });
  const [worker, gateway] = await Promise.all([
    startWorker(),
    startPart('gateway', { env: { ...baseEnv, PORT: String(gatewayPort) }, log }),
  ]);
  const workers = [worker];

  return {
    gatewayUrl,
    simulatorUrl: simulator ? String(simulator.ready.url ?? simulator.ready.baseUrl).replace(/\/v2$/, '') : undefined,
    temporalUiUrl: options.temporalUiUrl,
    worker,
    gateway,
    simulator,
    async startWorker(label) {
      const next = await startWorker(label);
      workers.push(next);
      return next;
    },
    async stop() {
      await gateway.stop();
      await Promise.all(workers.map((w) => w.stop()));
      await simulator?.stop();
    },
  };
}
