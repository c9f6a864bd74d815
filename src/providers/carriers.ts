import type { CallOp } from '../calls/commands';
import type { Provider } from '../calls/ids';
import { ConfigError, boundedInt, list, optional, url, type Env } from '../config/env';
import { createCarrierHttp, type CarrierHttp } from './http';
import { JAMBONZ_OPS, createJambonzCommands, jambonzAuthHeaders } from './jambonz';
import { OpRoute, documentOps, type OpTable } from './ops';
import { SIGNALWIRE_GONE_STATUSES, SIGNALWIRE_OPS, createSignalWireCommands } from './signalwire';
import { TELNYX_CALL_GONE_CODES, TELNYX_DEV_CONNECTION_ID, TELNYX_OPS, createTelnyxAdapter } from './telnyx';
import type { CarrierCommands } from './types';

/**
 * The carrier table: one definition per carrier, each everything the rest of the service needs to know
 * about that carrier without naming it. Typed against `Provider`, so adding a provider name makes the
 * compiler list this table (and the gateway's and the dev stack's) until each has its entry.
 */

/** Command carriers take every operation as a REST command; document carriers run documents we serve. */
export type CarrierFamily = 'command' | 'document';

/** Settings every carrier definition may read beside its own variables. */
export interface SharedSettings {
  /** The URL carriers reach the gateway at. */
  publicBaseUrl: string;
  dataDir: string;
}

/** A carrier the worker can command: its pure adapter and its HTTP pool. */
export interface CarrierClient {
  adapter: CarrierCommands;
  http: CarrierHttp;
}

/** How `POST /faxes` sends a fax on a carrier. */
export interface FaxCapability {
  /** A call whose document sends the fax once answered (SignalWire `send_fax`), or the carrier's fax API (Telnyx). */
  via: 'call' | 'fax-api';
  /** Whether the carrier prints a header line (`headerInfo`) and sends a station identity (`identity`). */
  headerInfo: boolean;
  identity: boolean;
}

export interface CarrierDefinition<Settings> {
  family: CarrierFamily;
  /** How each flow operation reaches this carrier. */
  ops: OpTable;
  /** Faxes sent on their own (`POST /faxes`, the send-fax workflow); absent: the carrier sends none. */
  faxes?: FaxCapability;
  /** This carrier's settings from its environment variables; unset credentials stay undefined. */
  readSettings(env: Env, shared: SharedSettings): Settings;
  /**
   * The worker's client, when the settings name an account (undefined otherwise). Throws `ConfigError` for
   * half an account: credentials without what verifies the carrier's callbacks.
   */
  createClient(settings: Settings, shared: SharedSettings): CarrierClient | undefined;
  /** Whether the gateway can verify, and so serves, this carrier's webhooks. */
  receivesWebhooks(settings: Settings): boolean;
}

export interface TelnyxSettings {
  apiKey?: string;
  /** The portal's public key (base64); verifies webhook signatures. */
  publicKey?: string;
  /** The Call Control Application id, needed to dial. */
  connectionId: string;
  /** The Programmable Fax Application id faxes are sent with; defaults to `connectionId`. */
  faxConnectionId: string;
  apiBaseUrl: string;
  voice: string;
  /** How long a webhook may wait on Temporal before it gets a 503: short, since Telnyx retries (for about a minute). */
  webhookDeadlineMs: number;
}

export interface SignalWireSettings {
  /** `https://<space>.signalwire.com`; REST commands go to `<apiBaseUrl>/api/calling/calls`. */
  apiBaseUrl?: string;
  projectId?: string;
  apiToken?: string;
  /** Signs SWML fetches; also keys the tokens in our callback URLs. */
  signingKey?: string;
  /** How long a SWML fetch waits for the flow's next step before it gets a holding document. */
  documentWaitMs: number;
  /**
   * When a SWML fetch is answered at the latest, whatever Temporal does: the flow's document, or a holding one
   * (carrying the fetch's events if Temporal did not take them). Inside SignalWire's fetch timeout (~10 s).
   */
  fetchDeadlineMs: number;
}

export interface JambonzSettings {
  /** e.g. `https://api.jambonz.cloud/v1`. */
  apiBaseUrl?: string;
  accountSid?: string;
  apiKey?: string;
  /** The account's webhook secret; several (comma-separated) while rotating. The first keys our hook URLs. */
  webhookSecrets: string[];
  applicationSid?: string;
  /** How long a hook waits for the flow's next verbs before it gets holding verbs (jambonz gives up at 10 s). */
  hookWaitMs: number;
  /**
   * When a hook is answered at the latest, whatever Temporal does: the flow's verbs, or holding verbs (carrying
   * the hook's events if Temporal did not take them). jambonz gives up at 10 s and then rejects a new call.
   */
  hookDeadlineMs: number;
  /** Where the gateway stores the recordings jambonz streams to it (`listen`), served at `/recordings/`. */
  recordingsDir: string;
}

/** Both document carriers answer a waiting fetch with a hold after this long, well inside their own timeouts. */
const DOCUMENT_WAIT = { defaultMs: 4000, minMs: 100, maxMs: 7000 };

/**
 * The answer-by budget of a document request: jambonz (10 s hook timeout) and SignalWire (~10 s fetch timeout)
 * get their answer by 7 s, 3 s spare for the network and a busy gateway. It must leave the wait for the flow
 * and the fallback signals room: `*_WAIT_MS` + `DEADLINE_SPARE_MS` at most.
 */
const DOCUMENT_DEADLINE = { defaultMs: 7000, minMs: 500, maxMs: 9500 };
const DEADLINE_SPARE_MS = 1000;
/** Telnyx retries a 5xx for about a minute: answering 503 fast costs nothing, hanging costs its timeout. */
const TELNYX_DEADLINE = { defaultMs: 2000, minMs: 200, maxMs: 9000 };

/** `<name>` (the deadline) read and checked against the wait it must contain. */
function documentDeadline(env: Env, name: string, waitName: string, waitMs: number): number {
  const deadline = boundedInt(env, name, DOCUMENT_DEADLINE.defaultMs, DOCUMENT_DEADLINE.minMs, DOCUMENT_DEADLINE.maxMs);
  if (waitMs + DEADLINE_SPARE_MS > deadline)
    throw new ConfigError(
      `${waitName} (${waitMs} ms) must be at least ${DEADLINE_SPARE_MS} ms below ${name} (${deadline} ms): ` +
        'the flow is waited for inside the deadline, and a hold must still go out in time',
    );
  return deadline;
}

const telnyx: CarrierDefinition<TelnyxSettings> = {
  family: 'command',
  ops: TELNYX_OPS,
  // Programmable Fax (`POST /faxes`): no header line, no station identity in its request.
  faxes: { via: 'fax-api', headerInfo: false, identity: false },
  readSettings: (env) => ({
    apiKey: optional(env, 'TELNYX_API_KEY'),
    publicKey: optional(env, 'TELNYX_PUBLIC_KEY'),
    connectionId: optional(env, 'TELNYX_CONNECTION_ID') ?? TELNYX_DEV_CONNECTION_ID,
    faxConnectionId:
      optional(env, 'TELNYX_FAX_CONNECTION_ID') ?? optional(env, 'TELNYX_CONNECTION_ID') ?? TELNYX_DEV_CONNECTION_ID,
    apiBaseUrl: url(env, 'TELNYX_API_BASE_URL', 'https://api.telnyx.com/v2'),
    voice: optional(env, 'TELNYX_VOICE') ?? 'AWS.Polly.Joanna-Neural',
    webhookDeadlineMs: boundedInt(
      env,
      'TELNYX_WEBHOOK_DEADLINE_MS',
      TELNYX_DEADLINE.defaultMs,
      TELNYX_DEADLINE.minMs,
      TELNYX_DEADLINE.maxMs,
    ),
  }),
  createClient(settings) {
    if (!settings.apiKey) return undefined;
    return {
      adapter: createTelnyxAdapter(settings),
      http: createCarrierHttp({
        provider: 'telnyx',
        baseUrl: settings.apiBaseUrl,
        headers: { authorization: `Bearer ${settings.apiKey}` },
        gone: { goneCodes: TELNYX_CALL_GONE_CODES },
      }),
    };
  },
  receivesWebhooks: (settings) => Boolean(settings.apiKey || settings.publicKey),
};

const signalwire: CarrierDefinition<SignalWireSettings> = {
  family: 'document',
  ops: SIGNALWIRE_OPS,
  // A dial whose inline SWML runs `send_fax` (document, header_info, identity) and hangs up.
  faxes: { via: 'call', headerInfo: true, identity: true },
  readSettings: (env) => {
    const documentWaitMs = boundedInt(
      env,
      'SIGNALWIRE_DOCUMENT_WAIT_MS',
      DOCUMENT_WAIT.defaultMs,
      DOCUMENT_WAIT.minMs,
      DOCUMENT_WAIT.maxMs,
    );
    return {
      // The REST base: the simulator's (SIGNALWIRE_API_BASE_URL) or the space's.
      apiBaseUrl: env.SIGNALWIRE_API_BASE_URL ? url(env, 'SIGNALWIRE_API_BASE_URL') : url(env, 'SIGNALWIRE_SPACE_URL'),
      projectId: optional(env, 'SIGNALWIRE_PROJECT_ID'),
      apiToken: optional(env, 'SIGNALWIRE_API_TOKEN'),
      signingKey: optional(env, 'SIGNALWIRE_SIGNING_KEY'),
      documentWaitMs,
      fetchDeadlineMs: documentDeadline(
        env,
        'SIGNALWIRE_FETCH_DEADLINE_MS',
        'SIGNALWIRE_DOCUMENT_WAIT_MS',
        documentWaitMs,
      ),
    };
  },
  createClient({ apiBaseUrl, projectId, apiToken, signingKey }, { publicBaseUrl }) {
    if (!apiBaseUrl || !projectId || !apiToken) return undefined;
    // Without a signing key no callback URL could be trusted, and no SWML fetch verified: refuse to start.
    if (!signingKey) {
      throw new ConfigError(
        'SIGNALWIRE_SIGNING_KEY is required with SIGNALWIRE_PROJECT_ID (it signs our callback URLs)',
      );
    }
    const adapter = createSignalWireCommands({ apiBaseUrl, projectId, apiToken, signingKey, publicBaseUrl });
    return {
      adapter,
      http: createCarrierHttp({
        provider: 'signalwire',
        baseUrl: apiBaseUrl,
        headers: { authorization: adapter.authorization },
        gone: { goneStatuses: SIGNALWIRE_GONE_STATUSES },
        classify: (outcome) => adapter.classify?.(outcome),
      }),
    };
  },
  receivesWebhooks: (settings) => Boolean(settings.signingKey),
};

const jambonz: CarrierDefinition<JambonzSettings> = {
  family: 'document',
  ops: JAMBONZ_OPS,
  readSettings: (env, { dataDir }) => {
    const hookWaitMs = boundedInt(
      env,
      'JAMBONZ_HOOK_WAIT_MS',
      DOCUMENT_WAIT.defaultMs,
      DOCUMENT_WAIT.minMs,
      DOCUMENT_WAIT.maxMs,
    );
    return {
      apiBaseUrl: url(env, 'JAMBONZ_API_BASE_URL'),
      accountSid: optional(env, 'JAMBONZ_ACCOUNT_SID'),
      apiKey: optional(env, 'JAMBONZ_API_KEY'),
      webhookSecrets: list(env, 'JAMBONZ_WEBHOOK_SECRET'),
      applicationSid: optional(env, 'JAMBONZ_APPLICATION_SID'),
      hookWaitMs,
      hookDeadlineMs: documentDeadline(env, 'JAMBONZ_HOOK_DEADLINE_MS', 'JAMBONZ_HOOK_WAIT_MS', hookWaitMs),
      recordingsDir: optional(env, 'RECORDINGS_DIR') ?? `${dataDir}/recordings`,
    };
  },
  createClient({ apiBaseUrl, accountSid, apiKey, webhookSecrets, applicationSid }, { publicBaseUrl }) {
    if (!apiBaseUrl || !accountSid || !apiKey) return undefined;
    // The secret keys the tokens of our hook URLs; without it no hook of a call could be trusted.
    if (webhookSecrets.length === 0) {
      throw new ConfigError(
        'JAMBONZ_WEBHOOK_SECRET is required with JAMBONZ_ACCOUNT_SID (it verifies hooks and keys our hook URLs)',
      );
    }
    const adapter = createJambonzCommands({ accountSid, publicBaseUrl, hookSecret: webhookSecrets[0], applicationSid });
    return {
      adapter,
      http: createCarrierHttp({
        provider: 'jambonz',
        baseUrl: apiBaseUrl,
        headers: jambonzAuthHeaders(apiKey),
        gone: { goneStatuses: [404, 422] },
        classify: (outcome) => adapter.classify?.(outcome),
      }),
    };
  },
  receivesWebhooks: (settings) => settings.webhookSecrets.length > 0,
};

export const CARRIERS = { telnyx, signalwire, jambonz } satisfies { [P in Provider]: CarrierDefinition<unknown> };

/** Each carrier's settings, as `loadConfig` reads them (`config.telnyx`, `config.signalwire`, ...). */
export type CarrierSettings = { [P in Provider]: Parameters<(typeof CARRIERS)[P]['createClient']>[0] };

/** The operations a session on this carrier sends as document steps (`CallSessionInput.documentOps`). */
export function documentOpsOf(provider: Provider): CallOp[] {
  return documentOps(CARRIERS[provider].ops);
}

/** How this carrier sends faxes through `POST /faxes`; undefined: it sends none. */
export function faxCapability(provider: Provider): FaxCapability | undefined {
  const definition: CarrierDefinition<unknown> = CARRIERS[provider];
  return definition.faxes;
}

/**
 * The fax carriers among `providers`, the default first: `POST /faxes` without `provider` takes the first.
 * SignalWire leads, as it did when it was the only fax carrier, so such requests keep their carrier.
 */
export function faxCarriers(providers: readonly Provider[]): Provider[] {
  const rank = (p: Provider) => (p === 'signalwire' ? 0 : 1);
  return providers.filter((p) => faxCapability(p) !== undefined).sort((a, b) => rank(a) - rank(b));
}

/** Whether this carrier can do the operation at all. */
export function carrierSupports(provider: Provider, op: CallOp): boolean {
  return CARRIERS[provider].ops[op] !== OpRoute.Unsupported;
}

export type CarrierClients = Partial<Record<Provider, CarrierClient>>;

/** The carriers this process can command, built from configuration (one HTTP pool each). */
export function createCarrierClients(settings: CarrierSettings, shared: SharedSettings): CarrierClients {
  const clients: CarrierClients = {};
  for (const provider of Object.keys(CARRIERS) as Provider[]) {
    const definition = CARRIERS[provider] as CarrierDefinition<CarrierSettings[typeof provider]>;
    const client = definition.createClient(settings[provider], shared);
    if (client) clients[provider] = client;
  }
  return clients;
}

export async function closeCarrierClients(clients: CarrierClients): Promise<void> {
  await Promise.all(Object.values(clients).map((c) => c?.http.close()));
}
