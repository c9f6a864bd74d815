import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { DEFAULT_TASK_QUEUE } from '../calls/messages';
import { PROVIDERS, isDialTarget, type Provider } from '../calls/ids';
import type { FlowArgs, SessionDefaults } from '../calls/session-input';
import { CARRIERS, type CarrierSettings, type SharedSettings } from '../providers/carriers';
import { ConfigError, boundedInt, list, optional, port, positiveInt, url, type Env } from './env';
import { loadQueuesFile, type QueuesFile } from './queues';
import { readTemporalAuth, type TemporalAuth } from './temporal-connection';

export { ConfigError } from './env';
export { checkQueues, loadQueuesFile, type QueuesFile } from './queues';
export { temporalConnectionOptions, type TemporalConnectionOptions } from './temporal-connection';

/**
 * The environment, read and validated once per process. Every setting the service has is here, with its
 * default (each carrier's own settings come from its definition in `src/providers/carriers.ts`); nothing
 * else reads `process.env`.
 */

/** The folder with package.json: two levels up from source, three from compiled code in `dist/`. */
export const PROJECT_ROOT = findProjectRoot(__dirname);

function findProjectRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) return path.resolve(from, '..', '..');
  }
}

export interface RouteEntry {
  flow: string;
  args?: FlowArgs;
}

/** Maps the dialed number to a flow; `default` catches every number not listed. */
export interface RoutingTable {
  default: RouteEntry;
  numbers: Record<string, RouteEntry>;
}

export interface Config extends CarrierSettings {
  /** TLS and API key (`tls`, `apiKey`): Temporal Cloud or a server behind TLS; see `temporal-connection.ts`. */
  temporal: TemporalAuth & {
    /** Set: connect there and start nothing. Unset: start the embedded dev server. */
    address?: string;
    namespace: string;
    taskQueue: string;
    port: number;
    uiPort: number;
    /** The Web UI's URL, for links in REST answers (unset: the embedded dev server's). */
    uiUrl?: string;
    cliPath?: string;
    /** Where the embedded dev server keeps its SQLite file. */
    dataDir: string;
  };
  gateway: {
    port: number;
    host: string;
    /** The URL carriers reach the gateway at; used to build callback URLs. */
    publicBaseUrl: string;
    /** Keys the REST API accepts (several during a rotation). None: the REST API answers loopback clients only. */
    apiKeys: ApiKey[];
    /** How long a SIGTERMed gateway keeps serving with /readyz failing, so the balancer stops sending first. */
    drainMs: number;
    /** Gateway processes `src/gateway/main.ts` runs on the one port (node's cluster module when > 1). */
    processes: number;
  };
  worker: {
    /** A workflow bundle built by `npm run build` (skips bundling at start). */
    bundlePath?: string;
    /** The Temporal SDK core's log level. */
    sdkLogLevel: 'TRACE' | 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
    /**
     * How long a session's workflow task may wait on this worker's sticky queue before any worker may take
     * it. A live worker polls its sticky queue all the time, so a task still waiting after a second means the
     * worker is gone (killed, partitioned): the caller should not wait out the SDK's 10 s default.
     */
    stickyScheduleToStartMs: number;
    /**
     * WORKER_MAX_WORKFLOW_TASKS: workflow tasks one worker runs at once. A task's start-to-close clock (the
     * sessions' 2 s task timeout) runs from the moment a worker polls it, and a worker runs its workflow tasks
     * one at a time per thread: with the SDK's 40, a loaded worker holds tasks in its own queue until they time
     * out, and Temporal then backs the retries off (the chaos run saw sessions silent for 30 s). A few at a time
     * leaves the rest in Temporal's queue, where an idle worker takes them. Every poll holds one of these slots
     * too, so 4 left new calls one poller among the live sessions' (bench/call-start.ts, 300 live calls: call
     * start p99 207 ms and a burst of new calls taken at 13.6/s; with 10, 142 ms and 18.1/s). 10 tasks of a few
     * milliseconds, even replays of long histories, stay well inside the 2 s timeout.
     */
    maxConcurrentWorkflowTasks: number;
    /**
     * `WORKER_METRICS_ADDRESS` (`host:port`): where the Temporal SDK serves the worker's Prometheus metrics
     * (`/metrics`, no auth). Unset: not served.
     */
    metricsAddress?: string;
    /** FLOWS_PATH: a module whose exported functions are your own flows, bundled beside the built-in ones. */
    flowsPath?: string;
    // Worker sizing (issue 11): the session cache and the workflow-task pollers; see worker/sizing.ts.
    /** WORKER_CACHED_SESSIONS: sessions the worker keeps in memory (unset: as many as its heap holds). */
    cachedSessions?: number;
    /** WORKER_WORKFLOW_POLLERS: the most workflow-task polls open at once (autoscaled below it). */
    workflowTaskPollers: number;
  };
  routing: RoutingTable;
  routingTablePath: string;
  /** The call queues (`config/queues.json` beside the routing table, or QUEUES_PATH). */
  queues: QueuesFile;
  queuesPath: string;
  /** Spread into every session's input, whoever starts it. */
  session: SessionDefaults;
  /** SESSION_TASK_TIMEOUT_MS: the sessions' workflow task timeout (why 2 s: `SessionsOptions` in gateway/sessions.ts). */
  sessionTaskTimeoutMs: number;
  logLevel: string;
  /** LOG_FORMAT: `pretty` (pino-pretty) or `json`; unset, pretty on a terminal and JSON otherwise. */
  logFormat?: 'pretty' | 'json';
}

/**
 * What a REST API key may do: `read` calls, faxes and recordings; `calls` place calls, send and cancel faxes;
 * `metrics` scrape `/metrics` (and nothing else, so the key in Prometheus's configuration reads no caller's data).
 */
export const API_SCOPES = ['read', 'calls', 'metrics'] as const;
export type ApiScope = (typeof API_SCOPES)[number];

export interface ApiKey {
  key: string;
  /** The scopes the key has; a key configured without any has them all. */
  scopes: ApiScope[];
}

/** Short keys can be guessed; 16 characters is the floor (use `openssl rand -hex 32`). */
const MIN_API_KEY_LENGTH = 16;

/** `API_KEYS`: comma-separated `key` or `key:scope1+scope2` entries. */
export function parseApiKeys(env: Env): ApiKey[] {
  return list(env, 'API_KEYS').map((entry, index) => {
    const colon = entry.indexOf(':');
    const key = colon === -1 ? entry : entry.slice(0, colon);
    const where = `API_KEYS entry ${index + 1}`;
    if (key.length < MIN_API_KEY_LENGTH)
      throw new ConfigError(`${where}: a key needs at least ${MIN_API_KEY_LENGTH} characters`);
    if (colon === -1) return { key, scopes: [...API_SCOPES] };
    const scopes = entry
      .slice(colon + 1)
      .split('+')
      .map((s) => s.trim());
    for (const scope of scopes) {
      if (!API_SCOPES.includes(scope as ApiScope)) {
        throw new ConfigError(`${where}: unknown scope "${scope}" (scopes are ${API_SCOPES.join(', ')})`);
      }
    }
    return { key, scopes: [...new Set(scopes as ApiScope[])] };
  });
}

const SDK_LOG_LEVELS = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR'] as const;

/** A `host:port` (IPv4, a name, or `[v6]`) to listen on; the SDK core would fail later with a vaguer error. */
function bindAddress(env: Env, name: string): string | undefined {
  const value = optional(env, name);
  if (value === undefined) return undefined;
  const match = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(value);
  if (!match || Number(match[2]) < 1 || Number(match[2]) > 65_535) {
    throw new ConfigError(`${name} must be host:port (for example 127.0.0.1:9464), got "${value}"`);
  }
  return value;
}

function sdkLogLevel(env: Env): Config['worker']['sdkLogLevel'] {
  const raw = (env.TEMPORAL_LOG_LEVEL || 'WARN').toUpperCase();
  const level = SDK_LOG_LEVELS.find((l) => l === raw);
  if (!level) throw new ConfigError(`TEMPORAL_LOG_LEVEL must be one of ${SDK_LOG_LEVELS.join(', ')}, got "${raw}"`);
  return level;
}

/** Reads and checks a routing table file; errors name the file and the entry. */
export function loadRoutingTable(file: string): RoutingTable {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ConfigError(`cannot read routing table ${file}: ${(err as Error).message}`);
  }
  const table = parsed as Partial<RoutingTable>;
  const check = (where: string, entry: unknown): RouteEntry => {
    const e = entry as RouteEntry | undefined;
    if (!e || typeof e.flow !== 'string' || !e.flow) throw new ConfigError(`${file}: ${where} needs a "flow" name`);
    if (e.args !== undefined && (typeof e.args !== 'object' || Array.isArray(e.args))) {
      throw new ConfigError(`${file}: ${where}.args must be an object`);
    }
    return e;
  };
  const numbers: Record<string, RouteEntry> = {};
  for (const [number, entry] of Object.entries(table.numbers ?? {})) {
    if (!isDialTarget(number)) throw new ConfigError(`${file}: "${number}" is not an E.164 number or SIP URI`);
    numbers[number] = check(`numbers["${number}"]`, entry);
  }
  return { default: check('default', table.default), numbers };
}

export function routeFor(table: RoutingTable, dialedNumber: string): RouteEntry {
  return table.numbers[dialedNumber] ?? table.default;
}

export function loadConfig(env: Env = process.env): Config {
  const gatewayPort = port(env, 'PORT', 3000);
  const routingTablePath = path.resolve(env.ROUTING_TABLE_PATH || path.join(PROJECT_ROOT, 'config', 'routes.json'));
  const queuesPath = path.resolve(env.QUEUES_PATH || path.join(PROJECT_ROOT, 'config', 'queues.json'));
  const shared: SharedSettings = {
    publicBaseUrl: url(env, 'PUBLIC_BASE_URL', `http://127.0.0.1:${gatewayPort}`),
    dataDir: path.resolve(env.DATA_DIR || path.join(PROJECT_ROOT, '.data')),
  };
  const temporalAddress = optional(env, 'TEMPORAL_ADDRESS');
  return {
    temporal: {
      address: temporalAddress,
      ...readTemporalAuth(env, temporalAddress),
      namespace: env.TEMPORAL_NAMESPACE || 'default',
      taskQueue: env.TEMPORAL_TASK_QUEUE || DEFAULT_TASK_QUEUE,
      port: port(env, 'TEMPORAL_PORT', 7233),
      uiPort: port(env, 'TEMPORAL_UI_PORT', 8233),
      uiUrl: url(env, 'TEMPORAL_UI_URL'),
      cliPath: optional(env, 'TEMPORAL_CLI_PATH'),
      dataDir: shared.dataDir,
    },
    gateway: {
      port: gatewayPort,
      host: env.HOST || '127.0.0.1',
      publicBaseUrl: shared.publicBaseUrl,
      apiKeys: parseApiKeys(env),
      drainMs: boundedInt(env, 'GATEWAY_DRAIN_MS', 5000, 0, 120_000),
      processes: boundedInt(env, 'GATEWAY_PROCESSES', 1, 1, 64),
    },
    worker: {
      bundlePath: optional(env, 'WORKFLOW_BUNDLE_PATH'),
      sdkLogLevel: sdkLogLevel(env),
      stickyScheduleToStartMs: boundedInt(env, 'WORKER_STICKY_TIMEOUT_MS', 1000, 200, 60_000),
      maxConcurrentWorkflowTasks: boundedInt(env, 'WORKER_MAX_WORKFLOW_TASKS', 10, 2, 200),
      metricsAddress: bindAddress(env, 'WORKER_METRICS_ADDRESS'),
      flowsPath: env.FLOWS_PATH ? path.resolve(env.FLOWS_PATH) : undefined,
      cachedSessions: optional(env, 'WORKER_CACHED_SESSIONS')
        ? boundedInt(env, 'WORKER_CACHED_SESSIONS', 0, 2, 1_000_000)
        : undefined,
      workflowTaskPollers: boundedInt(env, 'WORKER_WORKFLOW_POLLERS', 20, 2, 200),
    },
    ...readCarrierSettings(env, shared),
    routing: loadRoutingTable(routingTablePath),
    routingTablePath,
    queues: loadQueuesFile(queuesPath),
    queuesPath,
    session: {
      continueAsNewAtHistoryLength: positiveInt(env, 'SESSION_MAX_HISTORY_EVENTS'),
      ...livenessSettings(env),
    },
    sessionTaskTimeoutMs: boundedInt(env, 'SESSION_TASK_TIMEOUT_MS', 2000, 500, 60_000),
    logLevel: env.LOG_LEVEL || 'info',
    logFormat: logFormatOf(env),
  };
}

function logFormatOf(env: Env): Config['logFormat'] {
  const raw = optional(env, 'LOG_FORMAT');
  if (raw === undefined || raw === 'pretty' || raw === 'json') return raw;
  throw new ConfigError(`LOG_FORMAT must be pretty or json, got "${raw}"`);
}

/** SESSION_LIVENESS_MAX_MS bounds how long a session outlives a call whose hang-up webhook was lost. */
function livenessSettings(env: Env): Pick<SessionDefaults, 'liveness'> {
  const maxQuietMs = boundedInt(env, 'SESSION_LIVENESS_MAX_MS', 60_000, 1000, 3_600_000);
  return maxQuietMs === 60_000 ? {} : { liveness: { firstQuietMs: Math.min(15_000, maxQuietMs), maxQuietMs } };
}

function readCarrierSettings(env: Env, shared: SharedSettings): CarrierSettings {
  const entries = PROVIDERS.map((p: Provider) => [p, CARRIERS[p].readSettings(env, shared)]);
  return Object.fromEntries(entries) as CarrierSettings;
}

/** The settings every carrier definition may read beside its own (see `CarrierDefinition`). */
export function sharedSettings(config: Config): SharedSettings {
  return { publicBaseUrl: config.gateway.publicBaseUrl, dataDir: config.temporal.dataDir };
}
