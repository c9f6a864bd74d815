import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { isJsonObject, parseJsonBodies, registerUrlSetter, type JsonObject } from '../http';
import { silentMp3, silentWav } from '../audio';
import { registerControlRoutes } from '../control';
import { SIMULATED_ACTIONS, type CallEngine } from './call-engine';
import type { CommandGate } from './command-gate';
import { faxErrors, type FaxEngine } from './fax-engine';
import { CommandRejected, errorBodies, rejections, violationError, type TelnyxError } from './errors';
import type { TelnyxSpecValidator } from './spec';
import type { CommandLogEntry, FaultOptions, TelnyxInboundFaxScript } from './types';
import type { WebhookDispatcher } from './webhooks';

/**
 * HTTP surface: the Telnyx REST API under `/v2` (Call Control and Programmable Fax; Bearer auth, spec-validated
 * bodies, command_id de-duplication, injected faults) and the simulator's own control API under `/_sim` (no auth).
 */

export interface SimulatorServerDeps {
  engine: CallEngine;
  faxes: FaxEngine;
  gate: CommandGate;
  dispatcher: WebhookDispatcher;
  /** Absent when the spec file is missing: bodies are then not validated. */
  spec?: TelnyxSpecValidator;
  apiKey: string;
  publicKeyBase64: string;
  connectionId: string;
  setWebhookUrl: (url: string) => void;
  /** Numbers whose next `POST /faxes` runs but is answered 500 (`FaultOptions.loseFaxResponseTo`); consumed. */
  loseFaxResponseTo?: Set<string>;
  log: (line: string) => void;
}

type Body = JsonObject;

interface CommandRequest {
  action: string;
  callControlId?: string;
  /** The operation in the spec, for validating the body. */
  specPath: string;
  method: 'post' | 'put';
  body: unknown;
  execute: (body: Body) => Body;
}

function faultError(status: number): TelnyxError {
  if (status === 429) return errorBodies.tooManyRequests();
  return status === 503 ? errorBodies.unavailable() : errorBodies.internal();
}

function faultHeaders(fault: NonNullable<FaultOptions['failFirstCommandAttempts']>): Record<string, string> {
  const headers: Record<string, string> = {};
  if (fault.retryAfterSeconds !== undefined) headers['retry-after'] = String(fault.retryAfterSeconds);
  if (fault.status === 429) {
    headers['x-ratelimit-limit'] = '100';
    headers['x-ratelimit-remaining'] = '0';
    headers['x-ratelimit-reset'] = String(fault.retryAfterSeconds ?? 1);
  }
  return headers;
}

export function buildSimulatorServer(deps: SimulatorServerDeps): FastifyInstance {
  const app = Fastify({ logger: false });

  // Telnyx accepts an empty body where no field is required; fastify's default parser would refuse it.
  parseJsonBodies(app, { emptyAs: 'object', invalidMessage: 'The request body is not valid JSON.' });
  app.setErrorHandler((error: { statusCode?: number; message: string }, _request, reply) => {
    const status = error.statusCode ?? 500;
    if (status >= 500) deps.log(`internal error: ${error.message}`);
    return reply
      .code(status)
      .send({ errors: [status < 500 ? errorBodies.badJson(error.message) : errorBodies.internal()] });
  });
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({ errors: [errorBodies.notFound(`No route for ${request.method} ${request.url}.`)] }),
  );

  app.get('/healthz', async () => ({ status: 'ok' }));
  void app.register(async (api) => registerTelnyxApi(api, deps), { prefix: '/v2' });
  void app.register(async (api) => registerControlApi(api, deps), { prefix: '/_sim' });
  return app;
}

function registerTelnyxApi(api: FastifyInstance, deps: SimulatorServerDeps): void {
  const { engine } = deps;
  api.addHook('onRequest', async (request, reply) => {
    if (request.headers.authorization !== `Bearer ${deps.apiKey}`) {
      return reply.code(401).send({ errors: [errorBodies.unauthorized()] });
    }
  });

  api.post('/calls', async (request, reply) =>
    handleCommand(deps, reply, {
      action: 'dial',
      specPath: '/calls',
      method: 'post',
      body: request.body,
      execute: (body) => engine.dial(body),
    }),
  );

  api.get('/calls/:id', async (request: FastifyRequest<{ Params: { id: string } }>, reply) => {
    const leg = engine.leg(request.params.id);
    if (!leg) return reply.code(422).send({ errors: rejections.invalidCallControlId().errors });
    return { data: engine.callStatus(leg) };
  });

  const action = async (request: FastifyRequest<{ Params: { id: string; action: string } }>, reply: FastifyReply) => {
    const { id, action: name } = request.params;
    if (SIMULATED_ACTIONS[name] !== request.method) {
      const detail = `The simulator has no ${request.method} action '${name}'.`;
      deps.gate.record(logEntry(id, name, request.body, 404));
      return reply.code(404).send({ errors: [errorBodies.notFound(detail)] });
    }
    return handleCommand(deps, reply, {
      action: name,
      callControlId: id,
      specPath: `/calls/{call_control_id}/actions/${name}`,
      method: request.method === 'PUT' ? 'put' : 'post',
      body: request.body,
      execute: (body) => {
        const leg = engine.leg(id);
        if (!leg) throw rejections.invalidCallControlId();
        return engine.execute(leg, name, body);
      },
    });
  };
  api.post('/calls/:id/actions/:action', action);
  api.put('/calls/:id/actions/:action', action);
  registerFaxApi(api, deps);
}

interface FaxRequest {
  action: string;
  faxId?: string;
  /** The operation in the spec whose request body schema applies (none for bodiless operations). */
  spec?: { path: string; method: 'post' };
  /** Whether injected faults apply: they do to requests that change something. */
  faults: boolean;
  body: unknown;
  /** The status of a success (the spec's: 202 for send and cancel, 200 for reads and refresh, 204 delete). */
  status: number;
  execute: (body: Body) => unknown;
}

type IdRequest = FastifyRequest<{ Params: { id: string } }>;

/** Programmable Fax: `/faxes` and `/faxes/{id}` with its `cancel` and `refresh` actions. */
function registerFaxApi(api: FastifyInstance, deps: SimulatorServerDeps): void {
  const { faxes } = deps;
  api.post('/faxes', async (request, reply) =>
    handleFax(deps, reply, {
      action: 'send_fax',
      spec: { path: '/faxes', method: 'post' },
      faults: true,
      body: request.body,
      status: 202,
      execute: (body) => faxes.send(body),
    }),
  );
  api.get('/faxes', async (request: FastifyRequest<{ Querystring: Record<string, string | undefined> }>, reply) => {
    // deepObject filters arrive as flat keys (`filter[to][eq]`); pages are not simulated: one page holds all.
    const query = request.query;
    return handleFax(deps, reply, {
      action: 'list_faxes',
      faults: false,
      body: undefined,
      status: 200,
      execute: () =>
        faxes.list({
          to: query['filter[to][eq]'],
          from: query['filter[from][eq]'],
          direction: query['filter[direction][eq]'],
        }),
    });
  });
  api.get('/faxes/:id', async (request: IdRequest, reply) =>
    handleFax(deps, reply, {
      action: 'view_fax',
      faxId: request.params.id,
      faults: false,
      body: undefined,
      status: 200,
      execute: () => faxes.get(request.params.id),
    }),
  );
  api.delete('/faxes/:id', async (request: IdRequest, reply) =>
    handleFax(deps, reply, {
      action: 'delete_fax',
      faxId: request.params.id,
      faults: true,
      body: undefined,
      status: 204,
      execute: () => faxes.delete(request.params.id),
    }),
  );
  for (const name of ['cancel', 'refresh'] as const) {
    api.post(`/faxes/:id/actions/${name}`, async (request: IdRequest, reply) =>
      handleFax(deps, reply, {
        action: `${name}_fax`,
        faxId: request.params.id,
        faults: true,
        body: request.body,
        status: name === 'cancel' ? 202 : 200,
        execute: () => (name === 'cancel' ? faxes.cancel(request.params.id) : faxes.refresh(request.params.id)),
      }),
    );
  }
}

/**
 * Faults, then the spec, then the request itself. `POST /faxes` has no `command_id`: a repeated request is a
 * second fax, as at Telnyx.
 */
function handleFax(deps: SimulatorServerDeps, reply: FastifyReply, request: FaxRequest): FastifyReply {
  const body = request.body ?? {};
  const entry: CommandLogEntry = {
    at: new Date().toISOString(),
    faxId: request.faxId,
    action: request.action,
    body: request.body,
    status: request.status,
    duplicate: false,
  };
  const send = (status: number, payload?: unknown, headers: Record<string, string> = {}) => {
    entry.status = status;
    deps.gate.record(entry);
    deps.log(`${request.action} ${entry.faxId ?? ''} -> ${status}`);
    return reply.code(status).headers(headers).send(payload);
  };
  if (request.faults) {
    const fault = deps.gate.injectedFault(`fax|${request.action}|${request.faxId ?? ''}|${JSON.stringify(body)}`);
    if (fault) return send(fault.status, { errors: [faultError(fault.status)] }, faultHeaders(fault));
  }
  if (request.spec) {
    const violations = deps.spec?.requestViolations(request.spec.path, request.spec.method, body) ?? [];
    if (violations.length > 0) return send(422, { errors: violations.map(violationError) });
  }
  if (!isJsonObject(body))
    return send(422, { errors: [faxErrors.unprocessable('The request body must be a JSON object.')] });
  try {
    const data = request.execute(body);
    if (isJsonObject(data) && request.action === 'send_fax' && typeof data.id === 'string') {
      entry.faxId = data.id;
      if (deps.loseFaxResponseTo?.delete(String(data.to))) return send(500, { errors: [errorBodies.internal()] });
    }
    return send(request.status, data === undefined ? undefined : { data });
  } catch (err) {
    if (err instanceof CommandRejected) return send(err.status, { errors: err.errors });
    throw err;
  }
}

function logEntry(callControlId: string | undefined, action: string, body: unknown, status: number): CommandLogEntry {
  const commandId = isJsonObject(body) && typeof body.command_id === 'string' ? body.command_id : undefined;
  return { at: new Date().toISOString(), callControlId, action, commandId, body, status, duplicate: false };
}

/**
 * The spec's BridgeRequest marks `call_control_id` required, yet its own description says `queue` "can't be
 * used together with" it. The simulator follows the description: a bridge to a queue is validated as if
 * the id were there, so every other field is still checked.
 */
function bodyForSpec(action: string, body: unknown): unknown {
  const bridgeToQueue = action === 'bridge' && isJsonObject(body) && typeof body.queue === 'string';
  return bridgeToQueue && body.call_control_id === undefined ? { ...body, call_control_id: '' } : body;
}

/** Faults, then the call id, then command_id de-duplication, then the spec, then the command itself. */
function handleCommand(deps: SimulatorServerDeps, reply: FastifyReply, command: CommandRequest): FastifyReply {
  const body = command.body ?? {};
  const entry = logEntry(command.callControlId, command.action, body, 200);
  const send = (status: number, payload: unknown, headers: Record<string, string> = {}) => {
    entry.status = status;
    deps.gate.record(entry);
    deps.log(
      `${command.action} ${command.callControlId ?? ''} -> ${status}${entry.duplicate ? ' (duplicate command_id, ignored)' : ''}`,
    );
    return reply.code(status).headers(headers).send(payload);
  };
  const sendErrors = (status: number, errors: TelnyxError[]) => send(status, { errors });

  const scope = command.callControlId ?? 'dial';
  // Without a command_id the only way to recognise a retry is its content.
  const attemptKey = `${scope}|${entry.commandId ?? `${command.action}|${JSON.stringify(body)}`}`;
  const fault = deps.gate.injectedFault(attemptKey);
  if (fault) return send(fault.status, { errors: [faultError(fault.status)] }, faultHeaders(fault));

  if (command.callControlId !== undefined && !deps.engine.leg(command.callControlId)) {
    return sendErrors(422, rejections.invalidCallControlId().errors);
  }
  const dedupeKey = entry.commandId === undefined ? undefined : `${scope}|${entry.commandId}`;
  const earlier = dedupeKey === undefined ? undefined : deps.gate.acceptedBefore(dedupeKey);
  if (earlier) {
    entry.duplicate = true;
    return send(200, earlier.response);
  }
  const violations =
    deps.spec?.requestViolations(command.specPath, command.method, bodyForSpec(command.action, body)) ?? [];
  if (violations.length > 0) return sendErrors(422, violations.map(violationError));
  if (!isJsonObject(body))
    return sendErrors(422, rejections.invalidValue('/', 'The request body must be a JSON object.').errors);

  try {
    const response = { data: command.execute(body) };
    if (dedupeKey !== undefined) deps.gate.accept(dedupeKey, response);
    return send(200, response);
  } catch (err) {
    if (err instanceof CommandRejected) return sendErrors(err.status, err.errors);
    throw err;
  }
}

function registerControlApi(api: FastifyInstance, deps: SimulatorServerDeps): void {
  const { engine } = deps;
  registerControlRoutes(api, {
    placeCall: (script) => ({ call_control_id: engine.placeInboundCall(script).callControlId }),
    records: () => engine.records(),
    record: (id) => {
      const leg = engine.leg(id);
      return leg && engine.record(leg);
    },
    waitForCallEnd: (id, timeoutMs) => engine.waitForCallEnd(id, timeoutMs),
    commands: () => deps.gate.log(),
    webhooks: () => deps.dispatcher.list(),
  });
  api.get('/faxes', async () => deps.faxes.records());
  // A fax machine faxes one of our numbers (body: `TelnyxInboundFaxScript`).
  api.post('/faxes/inbound', async (request: FastifyRequest<{ Body: TelnyxInboundFaxScript }>, reply) => {
    const script = request.body;
    if (!script || typeof script.from !== 'string' || typeof script.to !== 'string')
      return reply.code(400).send({ error: 'an inbound fax needs from and to' });
    return { fax_id: deps.faxes.receive(script).faxId };
  });
  api.get('/faxes/:id', async (request: IdRequest, reply) => {
    const fax = deps.faxes.record(request.params.id);
    return fax ?? reply.code(404).send({ error: `no fax ${request.params.id}` });
  });
  registerUrlSetter(api, '/webhook-url', deps.setWebhookUrl);
  api.get('/public-key', async () => ({ public_key: deps.publicKeyBase64, connection_id: deps.connectionId }));
  api.get('/recordings/:file', async (request: FastifyRequest<{ Params: { file: string } }>, reply) => {
    const match = /^([0-9a-f-]{36})\.(mp3|wav)$/.exec(request.params.file);
    const durationMs = match ? engine.recordingLength(match[1]) : undefined;
    if (!match || durationMs === undefined) return reply.code(404).send({ error: 'no such recording' });
    const wav = match[2] === 'wav';
    return reply.type(wav ? 'audio/wav' : 'audio/mpeg').send(wav ? silentWav(durationMs) : silentMp3(durationMs));
  });
}
