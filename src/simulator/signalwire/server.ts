import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { CommandGate } from '../command-gate';
import { isJsonObject, parseJsonBodies, registerUrlSetter } from '../http';
import { silentMp3, silentWav } from '../audio';
import { registerControlRoutes } from '../control';
import type { CallEngine } from './call-engine';
import type { Deliveries } from './delivery';
import { CommandRejected, errorBodies, violationErrors } from './errors';
import { blankPdf } from './fax-document';
import type { SignalWireSpecValidator } from './spec';
import type { InboundFaxScript, SignalWireCommandLogEntry, SignalWireFaultOptions } from './types';

/**
 * HTTP surface: the Calling API (`POST /api/calling/calls`, Basic auth, bodies validated against the spec's
 * `CallRequest`, injected faults), the voice log read (`GET /api/voice/logs/:id`), and the simulator's own
 * control API under `/_sim` (no auth), which also serves recordings and received faxes.
 */

/** Faults and the request log; duplicate control_ids are the engine's business (only it knows what is still active). */
export type SignalWireCommandGate = CommandGate<
  SignalWireCommandLogEntry,
  NonNullable<SignalWireFaultOptions['failFirstCommandAttempts']>
>;

export interface SimulatorServerDeps {
  engine: CallEngine;
  gate: SignalWireCommandGate;
  deliveries: Deliveries;
  /** Absent when the spec file is missing: bodies are then not validated. */
  spec?: SignalWireSpecValidator;
  projectId: string;
  apiToken: string;
  setSwmlUrl: (url: string) => void;
  log: (line: string) => void;
}

const str = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);

function faultError(status: number) {
  if (status === 429) return errorBodies.tooManyRequests();
  return status === 503 ? errorBodies.unavailable() : errorBodies.internal();
}

export function buildSimulatorServer(deps: SimulatorServerDeps): FastifyInstance {
  const app = Fastify({ logger: false });

  parseJsonBodies(app, { emptyAs: 'undefined', invalidMessage: 'The request body is not valid JSON.' });
  app.setErrorHandler((error: { statusCode?: number; message: string }, _request, reply) => {
    const status = error.statusCode ?? 500;
    if (status >= 500) deps.log(`internal error: ${error.message}`);
    return reply.code(status).send(status < 500 ? errorBodies.badRequest() : errorBodies.internal());
  });
  app.setNotFoundHandler((_request, reply) => reply.code(404).send(errorBodies.notFound()));

  app.get('/healthz', async () => ({ status: 'ok' }));
  void app.register(async (api) => registerCallingApi(api, deps), { prefix: '/api' });
  void app.register(async (api) => registerControlApi(api, deps), { prefix: '/_sim' });
  return app;
}

function authorised(request: FastifyRequest, deps: SimulatorServerDeps): boolean {
  const match = /^Basic\s+(\S+)$/i.exec(request.headers.authorization ?? '');
  const credentials = match ? Buffer.from(match[1], 'base64').toString('utf8') : '';
  return credentials === `${deps.projectId}:${deps.apiToken}`;
}

function registerCallingApi(api: FastifyInstance, deps: SimulatorServerDeps): void {
  api.post('/calling/calls', async (request, reply) => handleCommand(deps, request, reply));
  api.get('/voice/logs/:id', async (request: FastifyRequest<{ Params: { id: string } }>, reply) => {
    if (!authorised(request, deps)) return reply.code(401).send(errorBodies.unauthorized());
    const log = deps.engine.voiceLog(request.params.id);
    return log ?? reply.code(404).send(errorBodies.notFound());
  });
}

function logEntry(body: unknown): SignalWireCommandLogEntry {
  const params = isJsonObject(body) && isJsonObject(body.params) ? body.params : {};
  const command = isJsonObject(body) ? (str(body.command) ?? '') : '';
  const callId = command === 'update' ? str(params.id) : isJsonObject(body) ? str(body.id) : undefined;
  return {
    at: new Date().toISOString(),
    command,
    callId,
    controlId: str(params.control_id),
    body,
    status: 200,
    duplicate: false,
  };
}

/** Auth, then faults, then the spec, then the command itself; every request is logged with its answer. */
function handleCommand(deps: SimulatorServerDeps, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const body = request.body;
  const entry = logEntry(body);
  const send = (status: number, payload: unknown, headers: Record<string, string> = {}) => {
    entry.status = status;
    deps.gate.record(entry);
    deps.log(
      `${entry.command || '(no command)'} ${entry.callId ?? ''} -> ${status}${entry.duplicate ? ' (duplicate control_id, not run again)' : ''}`,
    );
    return reply.code(status).headers(headers).send(payload);
  };
  if (!authorised(request, deps)) return send(401, errorBodies.unauthorized());

  // Without a control_id the only way to recognise a retry is its content.
  const fault = deps.gate.injectedFault(
    `${entry.callId ?? 'dial'}|${entry.command}|${entry.controlId ?? JSON.stringify(body)}`,
  );
  if (fault) {
    return send(
      fault.status,
      faultError(fault.status),
      fault.retryAfterSeconds === undefined ? {} : { 'retry-after': String(fault.retryAfterSeconds) },
    );
  }
  const violations = deps.spec?.requestViolations(body) ?? [];
  if (violations.length > 0) return send(422, { errors: violationErrors(violations) });
  if (!isJsonObject(body)) return send(400, errorBodies.badRequest());

  try {
    const outcome = deps.engine.command(body);
    entry.callId = outcome.callId;
    entry.duplicate = outcome.duplicate;
    return send(200, outcome.response);
  } catch (err) {
    if (err instanceof CommandRejected) return send(err.status, err.body);
    throw err;
  }
}

function registerControlApi(api: FastifyInstance, deps: SimulatorServerDeps): void {
  const { engine } = deps;
  registerControlRoutes(api, {
    placeCall: (script) => ({ call_id: engine.placeInboundCall(script).callId }),
    records: () => engine.records(),
    record: (id) => {
      const leg = engine.leg(id);
      return leg && engine.record(leg);
    },
    waitForCallEnd: (id, timeoutMs) => engine.waitForCallEnd(id, timeoutMs),
    commands: () => deps.gate.log(),
    webhooks: () => deps.deliveries.list(),
  });
  api.post('/faxes', async (request, reply) => {
    const script = parseInboundFaxScript(request.body);
    if (typeof script === 'string') return reply.code(400).send({ error: script });
    return { call_id: engine.placeInboundFax(script).callId };
  });
  registerUrlSetter(api, '/swml-url', deps.setSwmlUrl);
  api.get('/faxes/:file', async (request: FastifyRequest<{ Params: { file: string } }>, reply) => {
    const match = /^([0-9a-f-]{36})\.pdf$/.exec(request.params.file);
    const pages = match ? engine.receivedFax(match[1]) : undefined;
    if (pages === undefined) return reply.code(404).send({ error: 'no such fax' });
    return reply.type('application/pdf').send(blankPdf(pages));
  });
  api.get('/recordings/:file', async (request: FastifyRequest<{ Params: { file: string } }>, reply) => {
    const match = /^([0-9a-f-]{36})\.(mp3|wav)$/.exec(request.params.file);
    const recording = match ? engine.media.recordingInfo(match[1]) : undefined;
    if (!match || !recording || recording.format !== match[2])
      return reply.code(404).send({ error: 'no such recording' });
    const wav = match[2] === 'wav';
    return reply
      .type(wav ? 'audio/wav' : 'audio/mpeg')
      .send(wav ? silentWav(recording.durationMs) : silentMp3(recording.durationMs));
  });
}

/** An InboundFaxScript from JSON, or what is wrong with it. */
export function parseInboundFaxScript(input: unknown): InboundFaxScript | string {
  if (!isJsonObject(input)) return 'body must be a JSON object';
  const { from, to, pages, failOnPage } = input;
  if (typeof from !== 'string' || typeof to !== 'string') return '`from` and `to` must be strings';
  if (typeof pages !== 'number' || !Number.isInteger(pages) || pages < 1) return '`pages` must be a whole number >= 1';
  if (failOnPage !== undefined && (typeof failOnPage !== 'number' || !Number.isInteger(failOnPage) || failOnPage < 1)) {
    return '`failOnPage` must be a whole number >= 1';
  }
  return { from, to, pages, ...(failOnPage === undefined ? {} : { failOnPage }) };
}
