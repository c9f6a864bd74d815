import { CommandGate } from '../command-gate';
import { checkedTimeScale, listenOrigin } from '../http';
import { SimClock } from '../clock';
import { DeliveryFaults } from '../delivery-faults';
import { DEFAULT_APPLICATION_SID } from './defaults';
import { CallEngine } from './engine';
import { HookClient } from './hooks';
import { buildJambonzServer, type JambonzCommandGate } from './server';
import { defaultSpecDir, loadJambonzSpecs } from './spec';
import type { JambonzSimulator, JambonzSimulatorOptions } from './types';

export type {
  JambonzCallRecord,
  JambonzCallStatus,
  JambonzCommandLogEntry,
  JambonzFaultOptions,
  JambonzHookDelivery,
  JambonzHookType,
  JambonzSimulator,
  JambonzSimulatorOptions,
  JambonzStreamRecord,
} from './types';
export { JambonzSpecValidator, loadJambonzSpecs, defaultSpecDir as defaultJambonzSpecDir } from './spec';
export { VerbSpecError, VerbSpecValidator, normaliseVerbs, VERB_SPECS_FILE, type NormalisedVerb } from './verb-spec';
export { LISTEN_SUBPROTOCOL } from './audio-stream';
export { DEFAULT_APPLICATION_SID };

const DEFAULT_WEBHOOK_TIMEOUT_MS = 10_000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const SWEEP_INTERVAL_MS = 60_000;
/** What the simulated application is configured with; createCall with its application_sid gets these. */
const APPLICATION_SPEECH_DEFAULTS = {
  speech_synthesis_vendor: 'google',
  speech_synthesis_language: 'en-US',
  speech_synthesis_voice: 'en-US-Standard-C',
  speech_recognizer_vendor: 'google',
  speech_recognizer_language: 'en-US',
};

export async function startJambonzSimulator(opts: JambonzSimulatorOptions): Promise<JambonzSimulator> {
  const log = opts.log ?? (() => undefined);
  const timeScale = checkedTimeScale(opts.timeScale);
  const host = opts.host ?? '127.0.0.1';
  const applicationSid = opts.applicationSid ?? DEFAULT_APPLICATION_SID;
  const specs = loadJambonzSpecs(opts.specPath ?? defaultSpecDir(), log);
  // jambonz's sids are UUIDs, and the swagger checks a createCall's application_sid as one.
  if (!UUID.test(applicationSid))
    log(`warning: applicationSid "${applicationSid}" is not a UUID; a createCall naming it breaks the swagger (400)`);
  const account = { accountSid: opts.accountSid, applicationSid, apiBaseUrl: '' };
  const hooks = new HookClient({
    secret: opts.webhookSecret,
    timeoutMs: opts.webhookTimeoutMs ?? DEFAULT_WEBHOOK_TIMEOUT_MS,
    delayMs: opts.faults?.hookDelayMs ?? [0, 0],
    duplicateStatusHooks: opts.faults?.duplicateStatusHooks === true,
    faults: new DeliveryFaults(opts.faults),
    log,
  });
  const engine = new CallEngine({
    account,
    callHook: { url: opts.callHookUrl, method: 'POST' },
    statusHook: { url: opts.statusHookUrl, method: 'POST' },
    hooks,
    specs,
    clock: new SimClock(timeScale),
    agents: opts.agents ?? {},
    log,
  });
  const gate: JambonzCommandGate = new CommandGate(opts.faults?.failFirstCommandAttempts);
  const app = buildJambonzServer({
    engine,
    hooks,
    specs,
    apiKey: opts.apiKey,
    createCall: {
      accountSid: opts.accountSid,
      applicationSid,
      callHookUrl: opts.callHookUrl,
      statusHookUrl: opts.statusHookUrl,
      speechDefaults: APPLICATION_SPEECH_DEFAULTS,
    },
    gate,
    log,
  });
  const baseUrl = `${await listenOrigin(app, opts.port, host)}/v1`;
  account.apiBaseUrl = baseUrl;
  const sweeper = setInterval(() => engine.sweep(), SWEEP_INTERVAL_MS).unref();

  return {
    baseUrl,
    accountSid: opts.accountSid,
    applicationSid,
    async placeInboundCall(script) {
      return { callSid: engine.placeInboundCall(script).callSid };
    },
    getCall: (callSid) => engine.call(callSid)?.record(),
    waitForCallEnd: (callSid, timeoutMs) => engine.waitForCallEnd(callSid, timeoutMs),
    commands: () => gate.log(),
    webhooks: () => hooks.list(),
    async close() {
      clearInterval(sweeper);
      await app.close();
      engine.close();
      await hooks.close();
    },
  };
}
