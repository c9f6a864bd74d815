import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { DEFAULT_TASK_QUEUE } from '../calls/messages';
import { isDialTarget } from '../calls/ids';
import type { FlowArgs } from '../calls/session-input';

/**
 * The environment, read and validated once per process. Every setting the service has is here, with its
 * default; nothing else reads `process.env`.
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

export interface Config {
  temporal: {
    /** Set: connect there and start nothing. Unset: start the embedded dev server. */
    address?: string;
    namespace: string;
    taskQueue: string;
    port: number;
    uiPort: number;
    cliPath?: string;
    /** Where the embedded dev server keeps its SQLite file. */
    dataDir: string;
  };
  gateway: {
    port: number;
    host: string;
    /** The URL carriers reach the gateway at; used to build callback URLs. */
    publicBaseUrl: string;
  };
  telnyx: {
    apiKey?: string;
    publicKey?: string;
    connectionId: string;
    apiBaseUrl: string;
    voice: string;
  };
  signalwire: {
    /** `https://<space>.signalwire.com`; REST commands go to `<apiBaseUrl>/api/calling/calls`. */
    apiBaseUrl?: string;
    projectId?: string;
    apiToken?: string;
    /** Signs SWML fetches; also keys the tokens in our status-callback URLs. */
    signingKey?: string;
  };
  jambonz: {
    /** e.g. `https://api.jambonz.cloud/v1`. */
    apiBaseUrl?: string;
    accountSid?: string;
    apiKey?: string;
    /** The account's webhook secret; several (comma-separated) while rotating. The first keys our hook URLs. */
    webhookSecrets: string[];
    applicationSid?: string;
    /**
     * How long the gateway lets a session decide before it answers a jambonz hook with holding verbs;
     * kept well below jambonz's webhook timeout (10 s by default).
     */
    hookWaitMs: number;
    /** Where the gateway stores the recordings jambonz streams to it (`listen`), served at `/recordings/`. */
    recordingsDir: string;
  };
  routing: RoutingTable;
  routingTablePath: string;
  session: {
    /** Continue-as-new once a run's history has this many events (unset: when Temporal suggests). */
    maxHistoryEvents?: number;
  };
  logLevel: string;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

function port(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new ConfigError(`${name} must be a port number, got "${raw}"`);
  return n;
}

function positiveInt(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new ConfigError(`${name} must be a positive whole number, got "${raw}"`);
  return n;
}

function boundedInt(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new ConfigError(`${name} must be a whole number from ${min} to ${max}, got "${raw}"`);
  return n;
}

function url(env: NodeJS.ProcessEnv, name: string, fallback: string): string {
  const raw = env[name] || fallback;
  try {
    return new URL(raw).toString().replace(/\/$/, '');
  } catch {
    throw new ConfigError(`${name} must be a URL, got "${raw}"`);
  }
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

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const port_ = port(env, 'PORT', 3000);
  const routingTablePath = path.resolve(env.ROUTING_TABLE_PATH || path.join(PROJECT_ROOT, 'config', 'routes.json'));
  return {
    temporal: {
      address: env.TEMPORAL_ADDRESS || undefined,
      namespace: env.TEMPORAL_NAMESPACE || 'default',
      taskQueue: env.TEMPORAL_TASK_QUEUE || DEFAULT_TASK_QUEUE,
      port: port(env, 'TEMPORAL_PORT', 7233),
      uiPort: port(env, 'TEMPORAL_UI_PORT', 8233),
      cliPath: env.TEMPORAL_CLI_PATH || undefined,
      dataDir: path.resolve(env.DATA_DIR || path.join(PROJECT_ROOT, '.data')),
    },
    gateway: {
      port: port_,
      host: env.HOST || '127.0.0.1',
      publicBaseUrl: url(env, 'PUBLIC_BASE_URL', `http://127.0.0.1:${port_}`),
    },
    telnyx: {
      apiKey: env.TELNYX_API_KEY || undefined,
      publicKey: env.TELNYX_PUBLIC_KEY || undefined,
      connectionId: env.TELNYX_CONNECTION_ID || 'durable-calls-dev',
      apiBaseUrl: url(env, 'TELNYX_API_BASE_URL', 'https://api.telnyx.com/v2'),
      voice: env.TELNYX_VOICE || 'AWS.Polly.Joanna-Neural',
    },
    signalwire: {
      apiBaseUrl:
        env.SIGNALWIRE_API_BASE_URL || env.SIGNALWIRE_SPACE_URL
          ? url(env, env.SIGNALWIRE_API_BASE_URL ? 'SIGNALWIRE_API_BASE_URL' : 'SIGNALWIRE_SPACE_URL', '')
          : undefined,
      projectId: env.SIGNALWIRE_PROJECT_ID || undefined,
      apiToken: env.SIGNALWIRE_API_TOKEN || undefined,
      signingKey: env.SIGNALWIRE_SIGNING_KEY || undefined,
    },
    jambonz: {
      apiBaseUrl: env.JAMBONZ_API_BASE_URL ? url(env, 'JAMBONZ_API_BASE_URL', '') : undefined,
      accountSid: env.JAMBONZ_ACCOUNT_SID || undefined,
      apiKey: env.JAMBONZ_API_KEY || undefined,
      webhookSecrets: (env.JAMBONZ_WEBHOOK_SECRET ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
      applicationSid: env.JAMBONZ_APPLICATION_SID || undefined,
      hookWaitMs: boundedInt(env, 'JAMBONZ_HOOK_WAIT_MS', 4000, 100, 7000),
      recordingsDir: path.resolve(
        env.RECORDINGS_DIR || path.join(env.DATA_DIR || path.join(PROJECT_ROOT, '.data'), 'recordings'),
      ),
    },
    routing: loadRoutingTable(routingTablePath),
    routingTablePath,
    session: { maxHistoryEvents: positiveInt(env, 'SESSION_MAX_HISTORY_EVENTS') },
    logLevel: env.LOG_LEVEL || 'info',
  };
}
