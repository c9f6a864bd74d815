import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { CommandGate } from '../command-gate';
import { isJsonObject, parseJsonBodies, type JsonObject } from '../http';
import { registerControlRoutes } from '../control';
import { prepareCreateCall, updateCallRuleViolation, type CreateCallContext } from './api-rules';
import type { CallEngine } from './engine';
import type { HookClient } from './hooks';
import type { JambonzSpecValidator } from './spec';
import type { JambonzCommandLogEntry, JambonzFaultOptions } from './types';

/**
 * HTTP surface: jambonz's REST API under `/v1` (Bearer auth, the api server's validation and messages,
 * the feature server's Live Call Control answers) and the simulator's own control API under `/_sim`.
 */

type Data = JsonObject;
export type JambonzCommandGate = CommandGate<
  JambonzCommandLogEntry,
  NonNullable<JambonzFaultOptions['failFirstCommandAttempts']>
>;
type CallParams = { sid: string; callSid: string };

export interface JambonzServerDeps {
  engine: CallEngine;
  hooks: HookClient;
  /** Absent when the spec files are missing: bodies are then checked only by the api server's rules. */
  specs?: JambonzSpecValidator;
  apiKey: string;
  createCall: CreateCallContext;
  /** The injected fault, and the log every /v1 request is appended to with the status answered. */
  gate: JambonzCommandGate;
  log: (line: string) => void;
}

export function buildJambonzServer(deps: JambonzServerDeps): FastifyInstance {
  const app = Fastify({ logger: false });
  // jambonz's express parses an empty body as {}; fastify's default parser would refuse it.
  parseJsonBodies(app, { emptyAs: 'object', invalidMessage: 'request body is not valid JSON' });
  app.setErrorHandler((error: { statusCode?: number; message: string }, _request, reply) => {
    const status = error.statusCode ?? 500;
    if (status >= 500) deps.log(`internal error: ${error.message}`);
    return reply.code(status).send({ msg: error.message });
  });

  app.get('/healthz', async () => ({ status: 'ok' }));
  void app.register(async (api) => registerApi(api, deps), { prefix: '/v1' });
  void app.register(async (control) => registerControlApi(control, deps), { prefix: '/_sim' });
  return app;
}

function registerApi(api: FastifyInstance, deps: JambonzServerDeps): void {
  const { engine } = deps;
  api.addHook('onRequest', async (request, reply) => {
    if (request.headers.authorization !== `Bearer ${deps.apiKey}`)
      return reply.code(401).type('text/plain').send('Unauthorized');
  });
  // Injected faults answer before anything runs, as an unavailable feature server or a proxy would.
  api.addHook('preHandler', async (request, reply) => {
    const key = `${request.method} ${request.url} ${JSON.stringify(request.body ?? null)}`;
    const fault = deps.gate.injectedFault(key);
    if (fault === undefined) return;
    const attempt = deps.gate.attempts(key);
    if (fault.retryAfterSeconds !== undefined) reply.header('retry-after', String(fault.retryAfterSeconds));
    const msg =
      fault.status === 480
        ? 'no available feature servers at this time'
        : `simulated fault (attempt ${attempt} of ${fault.count})`;
    return reply.code(fault.status).send({ msg });
  });
  api.addHook('onSend', async (request, reply, payload) => {
    const params = request.params as Partial<CallParams> | undefined;
    const response = jsonOf(payload);
    deps.gate.record({
      at: new Date().toISOString(),
      method: request.method,
      path: request.url,
      action: actionOf(request.method, request.routeOptions.url),
      ...(params?.callSid !== undefined && { callSid: params.callSid }),
      body: request.body,
      status: reply.statusCode,
      ...(response !== undefined && { response }),
    });
    deps.log(`${request.method} ${request.url} -> ${reply.statusCode}`);
    return payload;
  });

  api.post('/Accounts/:sid/Calls', async (request: FastifyRequest<{ Params: { sid: string } }>, reply) => {
    if (!isJsonObject(request.body)) return reply.code(400).send({ msg: 'request body must be a JSON object' });
    const prepared = prepareCreateCall(request.params.sid, request.body, deps.createCall);
    if ('error' in prepared) return reply.code(400).send({ msg: prepared.error });
    const violations = deps.specs?.createCallViolations(request.body) ?? [];
    if (violations.length > 0)
      return reply.code(400).send({ msg: `createCall body breaks the swagger: ${violations.join('; ')}` });
    // The feature server checks the body as its rest:dial verb; the api server turns any refusal into a bare 500.
    const restDialError = deps.specs?.restDialViolation(prepared.body);
    if (restDialError !== undefined) {
      deps.log(`createCall refused by the feature server (${restDialError}); the api server answers 500`);
      return reply.code(500).send();
    }
    const call = engine.createCall(prepared.body);
    return reply.code(201).send({ sid: call.callSid, callId: call.callId });
  });

  api.get('/Accounts/:sid/Calls', async (request: FastifyRequest<{ Params: { sid: string }; Querystring: Data }>) => {
    if (request.params.sid !== engine.account.accountSid) return [];
    const filters = Object.entries({
      direction: request.query.direction,
      from: request.query.from,
      to: request.query.to,
      call_status: request.query.callStatus,
    }).filter(([, value]) => typeof value === 'string');
    return engine.apiRecords().filter((record) => filters.every(([key, value]) => record[key] === value));
  });

  api.get('/Accounts/:sid/Calls/:callSid', async (request: FastifyRequest<{ Params: CallParams }>, reply) => {
    const call = engine.findCall(request.params.sid, request.params.callSid);
    return call ? engine.apiRecord(call) : reply.code(404).type('text/plain').send('Not Found');
  });

  const updateCall = async (request: FastifyRequest<{ Params: CallParams }>, reply: FastifyReply) => {
    const { sid, callSid } = request.params;
    const body = request.body;
    if (!isJsonObject(body)) return reply.code(400).send({ msg: 'request body must be a JSON object' });
    const ruleViolation = updateCallRuleViolation(body);
    if (ruleViolation !== undefined) return reply.code(400).send({ msg: ruleViolation });
    const violations = deps.specs?.updateCallViolations(body) ?? [];
    if (violations.length > 0)
      return reply.code(400).send({ msg: `updateCall body breaks the swagger: ${violations.join('; ')}` });
    const call = engine.findCall(sid, callSid);
    if (call === undefined) return reply.code(404).type('text/plain').send('Not Found');
    // From here on the feature server answers (update-call.js).
    if (body.call_status_hook !== undefined && body.call_hook === undefined) {
      return reply.code(400).send({
        msg: `call_status_hook can be updated only when call_hook is also being updated for call_sid ${callSid}`,
      });
    }
    const session = engine.sessionFor(call);
    if (session === undefined) return reply.code(422).send({ msg: `call session is gone for call_sid ${callSid}` });
    const target = session.call;
    const incompatible =
      (body.call_status === 'completed' && !target.answered) || (body.call_status === 'no-answer' && target.answered);
    if (incompatible)
      return reply
        .code(422)
        .send({ msg: `current call state is incompatible with requested action for call_sid ${callSid}` });
    if (body.sip_request !== undefined) {
      // The SIP response to the in-dialog request; without a dialog jambonz fails with a 500.
      return target.answered
        ? reply.code(200).send({ status: 200, reason: 'OK' })
        : reply.code(500).send({ msg: 'no stable dialog' });
    }
    // jambonz answers 202 before it acts.
    setImmediate(() => {
      session.updateCall(body, callSid).catch((err: unknown) => deps.log(`BUG: updateCall ${callSid}: ${String(err)}`));
    });
    return reply.code(202).send();
  };
  // PUT is current; POST is kept "for legacy".
  api.put('/Accounts/:sid/Calls/:callSid', updateCall);
  api.post('/Accounts/:sid/Calls/:callSid', updateCall);
}

/** Which API operation a /v1 request is, for the command log. */
function actionOf(method: string, route: string | undefined): JambonzCommandLogEntry['action'] {
  if (route?.endsWith('/Calls')) return method === 'POST' ? 'createCall' : 'listCalls';
  return method === 'GET' ? 'getCall' : 'updateCall';
}

/** The JSON a reply sent, if it sent JSON. */
function jsonOf(payload: unknown): unknown {
  if (typeof payload !== 'string' || !/^[[{]/.test(payload)) return undefined;
  try {
    return JSON.parse(payload);
  } catch {
    return undefined;
  }
}

function registerControlApi(control: FastifyInstance, deps: JambonzServerDeps): void {
  const { engine } = deps;
  registerControlRoutes(control, {
    placeCall: (script) => ({ call_sid: engine.placeInboundCall(script).callSid }),
    records: () => engine.records(),
    record: (id) => engine.call(id)?.record(),
    waitForCallEnd: (id, timeoutMs) => engine.waitForCallEnd(id, timeoutMs),
    commands: () => deps.gate.log(),
    webhooks: () => deps.hooks.list(),
  });
}
