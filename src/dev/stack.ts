import { tmpdir } from 'node:os';
import path from 'node:path';
import { PROVIDERS, type Provider } from '../calls/ids';
import { startBalancer, type Balancer } from './balancer';
import { freePort } from './ports';
import { partAvailable, startPart, type ManagedProcess } from './processes';
import { carriersConfigured, SIMULATORS } from './simulators';

/**
 * The whole service on one machine: worker, gateway and (without carrier credentials) a simulator per
 * carrier (`simulators.ts`), as separate processes against one Temporal. Used by `npm start`, `npm run demo` and the
 * end-to-end tests, so all three run the same thing.
 */

/**
 * Where a running `npm start` or `npm run cluster` says where its parts are (in DATA_DIR, `config.temporal.dataDir`),
 * for `npm run demo` and the scripts.
 */
export function runningStackFile(dataDir: string): string {
  return path.join(dataDir, 'stack.json');
}

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
   * Carriers to simulate. Default: every carrier when none is configured (no `configuredBy` variable of
   * SIMULATORS is set, e.g. `TELNYX_API_KEY`), else none.
   */
  simulate?: Provider[];
  log?: (line: string) => void;
  /** Keeps the Telnyx simulator's key across restarts of the stack. */
  keyFile?: string;
  /**
   * Gateway processes (default 1). With more, each listens on a port of its own and a load balancer (HAProxy
   * when installed, see balancer.ts) takes `gatewayPort`, as in production (deploy/haproxy.cfg).
   */
  gateways?: number;
  /** Worker processes (default 1). */
  workers?: number;
  /** Where a balancer writes its config (default: the OS's temp dir). */
  dataDir?: string;
}

export interface Stack {
  gatewayUrl: string;
  /** Base URL of each simulated carrier (its `/_sim/` control API lives there). */
  simulatorUrls: Partial<Record<Provider, string>>;
  temporalUiUrl?: string;
  /** The first worker and gateway; all of them in `workers` and `gateways`. */
  worker: ManagedProcess;
  gateway: ManagedProcess;
  workers: ManagedProcess[];
  gateways: ManagedProcess[];
  /** In front of the gateways when there are several. */
  balancer?: Balancer;
  simulators: ManagedProcess[];
  /** Starts another worker (or a replacement after a kill). */
  startWorker(label?: string): Promise<ManagedProcess>;
  stop(): Promise<void>;
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
    options.simulate ?? (carriersConfigured(baseEnv) ? [] : PROVIDERS.filter((c) => partAvailable(SIMULATORS[c].part)));
  const firstPort = options.simulatorPort ?? Number(baseEnv.SIMULATOR_PORT || 8787);
  const timeScale = String(options.simulatorTimeScale ?? baseEnv.SIMULATOR_TIME_SCALE ?? 1);

  const simulators: ManagedProcess[] = [];
  const simulatorUrls: Partial<Record<Provider, string>> = {};
  const partEnv: NodeJS.ProcessEnv = {};
  // One after another, in PROVIDERS order: each takes the next port after the first.
  for (const [offset, carrier] of PROVIDERS.entries()) {
    if (!simulate.includes(carrier)) continue;
    const { part, start } = SIMULATORS[carrier];
    const simulated = await start({
      gatewayUrl,
      publicBaseUrl: baseEnv.PUBLIC_BASE_URL,
      env: baseEnv,
      keyFile: options.keyFile,
      run: async (env) => {
        const sim = await startPart(part, {
          log,
          env: {
            ...baseEnv,
            SIMULATOR_PORT: String(firstPort === 0 ? 0 : firstPort + offset),
            SIMULATOR_TIME_SCALE: timeScale,
            ...env,
          },
        });
        simulators.push(sim);
        return sim.ready;
      },
    });
    simulatorUrls[carrier] = simulated.baseUrl;
    Object.assign(partEnv, simulated.partEnv);
  }
  Object.assign(baseEnv, partEnv);

  const startWorker = (label?: string) => startPart('worker', { env: baseEnv, log, label });
  const gatewayCount = options.gateways ?? 1;
  const gatewayPorts =
    gatewayCount === 1 ? [gatewayPort] : await Promise.all(Array.from({ length: gatewayCount }, () => freePort()));
  const workerCount = options.workers ?? 1;
  const [workers, gateways] = await Promise.all([
    Promise.all(
      Array.from({ length: workerCount }, (_, i) => startWorker(workerCount > 1 ? `worker-${i + 1}` : undefined)),
    ),
    Promise.all(
      gatewayPorts.map((port, i) =>
        startPart('gateway', {
          env: { ...baseEnv, PORT: String(port) },
          log,
          label: gatewayCount > 1 ? `gateway-${i + 1}` : undefined,
        }),
      ),
    ),
  ]);
  const balancer =
    gatewayCount > 1
      ? await startBalancer({
          dir: options.dataDir ?? tmpdir(),
          port: gatewayPort,
          backends: gatewayPorts,
          mode: 'http',
          checkPath: '/readyz',
          name: 'gateways',
        })
      : undefined;

  return {
    gatewayUrl,
    simulatorUrls,
    temporalUiUrl: options.temporalUiUrl,
    worker: workers[0],
    gateway: gateways[0],
    workers,
    gateways,
    balancer,
    simulators,
    async startWorker(label) {
      const next = await startWorker(label);
      workers.push(next);
      return next;
    },
    async stop() {
      await balancer?.stop();
      await Promise.all(gateways.map((g) => g.stop()));
      await Promise.all(workers.map((w) => w.stop()));
      await Promise.all(simulators.map((s) => s.stop()));
    },
  };
}
