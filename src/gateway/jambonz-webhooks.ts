import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { CallEvent, CallSessionInput, DocumentReply, SessionDefaults } from '../calls';
import { routeFor, type RoutingTable } from '../config';
import {
  documentForCommands,
  hangupDocument,
  holdDocumentFor,
  JAMBONZ_HOOK_PATH,
  JambonzHook,
  normaliseJambonzWebhook,
  queueHoldingDocument,
  verifyHookToken,
  verifyJambonzSignature,
  type DocumentOptions,
  type JambonzVerb,
} from '../providers/jambonz';
import { documentOpsOf } from '../providers/carriers';
import { MalformedWebhookError } from '../providers/types';
import { jambonzRecordings, recordingName, recordingUrl } from './jambonz-recordings';
import type { Sessions } from './sessions';
import { unavailable } from './replies';

export interface JambonzWebhookOptions {
  sessions: Sessions;
  routing: RoutingTable;
  /** Every accepted webhook secret (rotation); the first keys the hook URLs we hand out. */
  secrets: readonly string[];
  /** The URL jambonz reaches the gateway at. */
  publicBaseUrl: string;
  /** How long a session may take to decide before the hook is answered with holding verbs. */
  hookWaitMs: number;
  /** Where recordings streamed by `listen` are stored. */
  recordingsDir: string;
  /** Spread into every session this gateway starts. */
  sessionDefaults: SessionDefaults;
}

/** Hooks whose answer jambonz ignores (status) or that take no document of ours (amd); the rest want verbs. */
const NOTIFICATIONS = new Set<string>([JambonzHook.Status, JambonzHook.Amd]);
const ENDED_STATUSES = new Set(['completed', 'failed', 'busy', 'no-answer']);

/**
 * `POST /webhooks/jambonz?hook=...`: every jambonz hook. Raw bytes → `Jambonz-Signature` (401, nothing
 * started) → the hook URL's token for hooks that name a session (401) → normalise (400) → Temporal:
 * - `call_hook` of an inbound call: update-with-start of the session, answered with the flow's first verbs;
 * - every hook that expects verbs (actionHooks, redirects): the `nextDocument` update, answered with the
 *   flow's next verbs, or holding verbs (a pause, then a redirect back) when the session has not decided in
 *   `hookWaitMs`; its events are in Temporal before any answer, and 503 if Temporal takes nothing;
 * - `call_status_hook`: signals, 200 once Temporal has them, 503 otherwise.
 */
export async function jambonzWebhooks(app: FastifyInstance, options: JambonzWebhookOptions): Promise<void> {
  const { sessions, routing, secrets } = options;
  const documents: DocumentOptions = { publicBaseUrl: options.publicBaseUrl, secret: secrets[0] ?? '' };

  // Signatures cover the exact bytes, so this route gets the body unparsed. Scoped to this plugin.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: 1024 * 1024 }, (_req, body, done) => done(null, body));
  await app.register(jambonzRecordings, { dir: options.recordingsDir, secrets, log: app.log });

  app.post(JAMBONZ_HOOK_PATH, async (request, reply) => {
    const rawBody = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    const headers = Object.fromEntries(
      Object.entries(request.headers).map(([k, v]) => [k.toLowerCase(), Array.isArray(v) ? v[0] : v]),
    );
    const signature = verifyJambonzSignature({ headers, rawBody }, secrets);
    if (!signature.ok) {
      request.log.warn({ reason: signature.reason }, 'jambonz hook refused');
      return reply.code(401).send({ error: 'invalid signature', reason: signature.reason });
    }
    const hookParam = (request.query as Record<string, unknown>).hook;
    if (typeof hookParam !== 'string' || !(Object.values(JambonzHook) as string[]).includes(hookParam)) {
      return reply.code(400).send({
        error: 'unknown hook',
        reason: `?hook=${typeof hookParam === 'string' ? hookParam : ''} is not a jambonz hook this gateway serves`,
      });
    }
    const token = verifyHookToken(request.url, secrets);
    if (!token.ok) {
      request.log.warn({ reason: token.reason }, 'jambonz hook URL refused');
      return reply.code(401).send({ error: 'invalid hook token', reason: token.reason });
    }
    const { hook, controlId } = token;

    let payload: { call_sid: string; call_status?: unknown };
    let routed;
    try {
      const receivedAt = new Date().toISOString();
      routed = normaliseJambonzWebhook(rawBody, { hook, controlId, receivedAt });
      payload = JSON.parse(rawBody.toString('utf8')) as typeof payload;
      // A verb's hook after a hang-up carries the call's end itself; applying it first means the flow never
      // acts on an outcome of a call that is already over. Same event id as the status hook's.
      if (
        hook !== JambonzHook.Status &&
        hook !== JambonzHook.Call &&
        typeof payload.call_status === 'string' &&
        ENDED_STATUSES.has(payload.call_status)
      ) {
        const ended = normaliseJambonzWebhook(rawBody, { hook: JambonzHook.Status, receivedAt }).events;
        routed = { ...routed, events: [...ended.filter((e) => e.callId === payload.call_sid), ...routed.events] };
      }
    } catch (err) {
      if (err instanceof MalformedWebhookError)
        return reply.code(400).send({ error: 'malformed webhook', reason: err.message });
      throw err;
    }
    let events = routed.events;
    if (hook === JambonzHook.Listen && token.workflowId && controlId) {
      const url = recordingUrl(options.publicBaseUrl, recordingName(documents.secret, token.workflowId, controlId));
      events = events.map((e) => (e.kind === 'recording.saved' ? { ...e, url } : e));
    }
    // The hook URL (verified) names the session; otherwise the payload does (customerData, parent, inbound).
    const owner = token.workflowId ?? routed.ownerWorkflowId;

    if (NOTIFICATIONS.has(hook)) {
      if (!owner || events.length === 0)
        return reply.code(200).send({ status: 'ignored', reason: owner ? 'no event' : 'no session owns this call' });
      try {
        const deliveries = [];
        for (const event of events) deliveries.push(await sessions.signal(owner, event));
        return hook === JambonzHook.Amd
          ? reply.code(204).send()
          : reply.code(200).send({ status: 'accepted', deliveries });
      } catch (err) {
        return unavailable(reply, err, request.log);
      }
    }
    if (!owner)
      return reply
        .code(400)
        .send({ error: 'malformed webhook', reason: 'the hook names no session and the call is not inbound' });

    if (hook === JambonzHook.Wait) {
      // Polled while the caller waits in a queue; only play, say, pause and leave may answer it.
      try {
        for (const event of events) await sessions.signal(owner, event);
      } catch (err) {
        return unavailable(reply, err, request.log);
      }
      return sendVerbs(reply, queueHoldingDocument());
    }

    const incoming = events.find((e): e is Extract<CallEvent, { kind: 'call.incoming' }> => e.kind === 'call.incoming');
    const start =
      hook === JambonzHook.Call && !token.workflowId && incoming?.direction === 'inbound'
        ? sessionInput(incoming)
        : undefined;
    let answer: DocumentReply | { kind: 'late' };
    try {
      answer = await sessions.nextDocument(
        owner,
        { events, ...(controlId !== undefined && { handedBack: controlId }), waitMs: options.hookWaitMs },
        { updateId: updateIdOf(request.url, rawBody), ...(start && { start }) },
      );
    } catch (err) {
      // Not even a signal got through: jambonz gets no verbs it could act on (it ends the call, or retries).
      return unavailable(reply, err, request.log);
    }
    return sendVerbs(reply, verbsFor(answer, owner, request.log));
  });

  function sessionInput(incoming: Extract<CallEvent, { kind: 'call.incoming' }>): CallSessionInput {
    const route = routeFor(routing, incoming.to);
    return {
      provider: 'jambonz',
      direction: 'inbound',
      flow: route.flow,
      flowArgs: route.args,
      from: incoming.from,
      to: incoming.to,
      callId: incoming.callId,
      documentOps: documentOpsOf('jambonz'),
      ...options.sessionDefaults,
    };
  }

  function verbsFor(
    answer: DocumentReply | { kind: 'late' },
    owner: string,
    log: FastifyInstance['log'],
  ): JambonzVerb[] {
    switch (answer.kind) {
      case 'commands': {
        const { verbs, skipped } = documentForCommands(answer.commands, documents);
        for (const s of skipped)
          log.error({ ...s, workflowId: owner }, 'a command of the session cannot be expressed as jambonz verbs');
        return verbs;
      }
      case 'hold':
        return holdDocumentFor(documents, owner);
      case 'hangup':
      case 'late':
        return hangupDocument();
    }
  }
}

function sendVerbs(reply: FastifyReply, verbs: JambonzVerb[]): FastifyReply {
  return reply.code(200).header('content-type', 'application/json').send(JSON.stringify(verbs));
}

/** Names the update after the request, so a hook jambonz retries gets the answer the first attempt got. */
function updateIdOf(url: string, rawBody: Buffer): string {
  return `jambonz:${createHash('sha256').update(url).update('\n').update(rawBody).digest('base64url')}`;
}
