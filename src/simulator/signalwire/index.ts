import { randomUUID } from 'node:crypto';
import { CommandGate } from '../command-gate';
import { DeliveryFaults } from '../delivery-faults';
import { checkedTimeScale, listenOrigin } from '../http';
import { CallEngine } from './call-engine';
import { Deliveries } from './delivery';
import { buildSimulatorServer, type SignalWireCommandGate } from './server';
import { defaultSignalWireSpecPath, loadSignalWireSpec, SCHEMAS } from './spec';
import type { SignalWireSimulator, SignalWireSimulatorOptions } from './types';

export type {
  FaxScript,
  InboundFaxScript,
  SignalWireCallRecord,
  SignalWireCallState,
  SignalWireCommandLogEntry,
  SignalWireDelivery,
  SignalWireFaultOptions,
  SignalWireSimulator,
  SignalWireSimulatorOptions,
  SimFax,
} from './types';
export { defaultSignalWireSpecPath, signalWireSpec, SignalWireSpecValidator } from './spec';
export { blankPdf, pdfPageCount } from './fax-document';
export { parseInboundFaxScript } from './server';

const DEFAULT_WEBHOOK_DELAY_MS: [number, number] = [2, 20];
const SWEEP_INTERVAL_MS = 30_000;

export async function startSignalWireSimulator(opts: SignalWireSimulatorOptions): Promise<SignalWireSimulator> {
  const log = opts.log ?? (() => undefined);
  const timeScale = checkedTimeScale(opts.timeScale);
  const host = opts.host ?? '127.0.0.1';
  const spec = loadSignalWireSpec(opts.specPath ?? defaultSignalWireSpecPath(), log);
  const space = { projectId: opts.projectId, spaceId: randomUUID() };
  let swmlUrl = opts.swmlUrl;
  let origin = '';

  const deliveries = new Deliveries({
    signingKey: opts.signingKey,
    delayMs: opts.faults?.webhookDelayMs ?? DEFAULT_WEBHOOK_DELAY_MS,
    duplicate: opts.faults?.duplicateWebhooks === true,
    faults: new DeliveryFaults(opts.faults),
    callbackErrors: spec && ((body) => spec.statusCallbackErrors(body)),
    fetchErrors: spec && ((body) => spec.schemaErrors(SCHEMAS.swmlFetch, body)),
    log,
  });
  const engine = new CallEngine({
    space,
    timeScale,
    agents: opts.agents ?? {},
    faxes: opts.faxes ?? {},
    deliveries,
    spec,
    swmlUrl: () => swmlUrl,
    statusChangeUrl: opts.statusChangeUrl,
    origin: () => origin,
    log,
  });
  const gate: SignalWireCommandGate = new CommandGate(opts.faults?.failFirstCommandAttempts);
  const setSwmlUrl = (url: string) => {
    swmlUrl = url;
  };
  const app = buildSimulatorServer({
    engine,
    gate,
    deliveries,
    spec,
    projectId: opts.projectId,
    apiToken: opts.apiToken,
    setSwmlUrl,
    log,
  });
  origin = await listenOrigin(app, opts.port, host);
  const sweeper = setInterval(() => engine.sweep(), SWEEP_INTERVAL_MS).unref();

  return {
    baseUrl: origin,
    projectId: space.projectId,
    spaceId: space.spaceId,
    setSwmlUrl,
    async placeInboundCall(script) {
      return { callId: engine.placeInboundCall(script).callId };
    },
    async placeInboundFax(script) {
      return { callId: engine.placeInboundFax(script).callId };
    },
    getCall(callId) {
      const leg = engine.leg(callId);
      return leg && engine.record(leg);
    },
    waitForCallEnd: (callId, timeoutMs) => engine.waitForCallEnd(callId, timeoutMs),
    commands: () => gate.log(),
    webhooks: () => deliveries.list(),
    async close() {
      clearInterval(sweeper);
      await app.close();
      await engine.close();
      await deliveries.close();
    },
  };
}
