import { checkedTimeScale, listenOrigin } from '../http';
import { CallEngine } from './call-engine';
import { CommandGate } from './command-gate';
import { FaxEngine } from './fax-engine';
import { DeliveryFaults } from '../delivery-faults';
import { DEFAULT_CONNECTION_ID } from './defaults';
import { buildSimulatorServer } from './server';
import { defaultSpecPath, loadTelnyxSpec } from './spec';
import type { TelnyxSimulator, TelnyxSimulatorOptions } from './types';
import { loadOrCreateSigningKey, WebhookDispatcher } from './webhooks';

export type {
  AgentScript,
  CallerScript,
  CommandLogEntry,
  DeliveredWebhook,
  FaultOptions,
  SimCallRecord,
  SimLegState,
  TelnyxSimFax,
  SimRecording,
  TelnyxFaxScript,
  TelnyxSimulator,
  TelnyxSimulatorOptions,
} from './types';
export {
  defaultSpecPath,
  TelnyxSpecValidator,
  validateTelnyxRequest,
  validateTelnyxResponse,
  validateTelnyxWebhook,
} from './spec';
export { parseCallerScript } from '../scripts';
export { DEFAULT_CONNECTION_ID };

const DEFAULT_WEBHOOK_DELAY_MS: [number, number] = [2, 20];
const SWEEP_INTERVAL_MS = 30_000;

export async function startTelnyxSimulator(opts: TelnyxSimulatorOptions): Promise<TelnyxSimulator> {
  const log = opts.log ?? (() => undefined);
  const timeScale = checkedTimeScale(opts.timeScale);
  const host = opts.host ?? '127.0.0.1';
  const connectionId = opts.connectionId ?? DEFAULT_CONNECTION_ID;
  const spec = loadTelnyxSpec(opts.specPath ?? defaultSpecPath(), log);
  const signingKey = loadOrCreateSigningKey(opts.privateKey);
  let webhookUrl = opts.webhookUrl;
  let origin = '';

  const dispatcher = new WebhookDispatcher({
    signingKey: signingKey.privateKey,
    delayMs: opts.faults?.webhookDelayMs ?? DEFAULT_WEBHOOK_DELAY_MS,
    duplicate: opts.faults?.duplicateWebhooks === true,
    faults: new DeliveryFaults(opts.faults),
    validate: spec ? (rawBody) => spec.webhookErrors(rawBody) : undefined,
    log,
  });
  const engine = new CallEngine({
    connectionId,
    timeScale,
    agents: opts.agents ?? {},
    dispatcher,
    webhookUrl: () => webhookUrl || undefined,
    origin: () => origin,
    log,
  });
  const faxes = new FaxEngine({
    connectionId: opts.faxConnectionId ?? connectionId,
    timeScale,
    machines: opts.faxes ?? {},
    dispatcher,
    webhookUrl: () => webhookUrl || undefined,
    log,
  });
  const gate = new CommandGate(opts.faults?.failFirstCommandAttempts);
  const app = buildSimulatorServer({
    engine,
    faxes,
    gate,
    dispatcher,
    spec,
    apiKey: opts.apiKey,
    publicKeyBase64: signingKey.publicKeyBase64,
    connectionId,
    loseFaxResponseTo: new Set(opts.faults?.loseFaxResponseTo ?? []),
    setWebhookUrl: (url) => {
      webhookUrl = url;
    },
    log,
  });
  origin = await listenOrigin(app, opts.port, host);
  const sweeper = setInterval(() => {
    engine.sweep();
    gate.sweep();
  }, SWEEP_INTERVAL_MS).unref();

  return {
    baseUrl: `${origin}/v2`,
    publicKeyBase64: signingKey.publicKeyBase64,
    connectionId,
    setWebhookUrl(url) {
      webhookUrl = url;
    },
    async placeInboundCall(script) {
      return { callControlId: engine.placeInboundCall(script).callControlId };
    },
    getCall(callControlId) {
      const leg = engine.leg(callControlId);
      return leg && engine.record(leg);
    },
    waitForCallEnd: (callControlId, timeoutMs) => engine.waitForCallEnd(callControlId, timeoutMs),
    commands: () => gate.log(),
    webhooks: () => dispatcher.list(),
    faxes: () => faxes.records(),
    receiveFax: (script) => faxes.receive(script),
    async close() {
      clearInterval(sweeper);
      await app.close();
      engine.close();
      faxes.close();
      await dispatcher.close();
    },
  };
}
