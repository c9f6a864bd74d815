import type { FastifyInstance, FastifyReply } from 'fastify';
import { readControlId, type CallEvent, type DocumentReply, type SessionDefaults } from '../../calls';
import type { RoutingTable } from '../../config';
import {
  confirmDocument,
  documentForCommands,
  hangupDocument,
  holdDocumentFor,
  JAMBONZ_HOOK_PATH,
  JambonzHook,
  normaliseJambonzWebhook,
  queueHoldingDocument,
  roomMemberDocument,
  verifyConfirmHook,
  verifyHookToken,
  verifyMemberHook,
  verifyJambonzSignature,
  type DocumentOptions,
  type JambonzVerb,
} from '../../providers/jambonz';
import type { RoutedEvents } from '../../providers/types';
import type { Sessions } from '../sessions';
import { jambonzRecordings, recordingName, recordingUrl } from './jambonz-recordings';
import {
  accepted,
  carriedOf,
  carry,
  deliverEach,
  ignored,
  inboundSessionInput,
  normalised,
  NotTaken,
  rawBodies,
  refuse,
  toTemporal,
  updateIdOf,
  webhookRoute,
  withCarried,
  type Carried,
  logWorkflowId,
} from './pipeline';

export interface JambonzWebhookOptions {
  sessions: Sessions;
  routing: RoutingTable;
  /** Every accepted webhook secret (rotation); the first keys the hook URLs we hand out. */
  secrets: readonly string[];
  /** The URL jambonz reaches the gateway at. */
  publicBaseUrl: string;
  /** How long a session may take to decide before the hook is answered with holding verbs. */
  hookWaitMs: number;
  /** When every hook is answered at the latest, whatever Temporal does (jambonz gives up at 10 s). */
  hookDeadlineMs: number;
  /** Where recordings streamed by `listen` are stored. */
  recordingsDir: string;
  /** Spread into every session this gateway starts. */
  sessionDefaults: SessionDefaults;
}

/** Hooks whose answer jambonz ignores (status) or that take no document of ours (amd); the rest want verbs. */
const NOTIFICATIONS = new Set<string>([JambonzHook.Status, JambonzHook.Amd]);
const ENDED_STATUSES = new Set(['completed', 'failed', 'busy', 'no-answer']);
const HOOKS = new Set<string>(Object.values(JambonzHook));

/**
 * `POST /webhooks/jambonz?hook=...`: every jambonz hook. Raw bytes → `Jambonz-Signature` (401, nothing
 * started) → the hook URL's token for hooks that name a session (401) → normalise (400) → Temporal:
 * - `call_hook` of an inbound call: update-with-start of the session, answered with the flow's first verbs;
 * - every hook that expects verbs (actionHooks, redirects): the `nextDocument` update, answered with the
 *   flow's next verbs, or holding verbs (a pause, then a redirect back) when the session has not decided in
 *   `hookWaitMs`; its events are in Temporal before any answer. If Temporal takes nothing within
 *   `hookDeadlineMs` (down, slow), the holding verbs' redirect carries the events (and, for a new call, that the
 *   session is still to be started), signed: jambonz does not retry a hook, and rejects a new call whose
 *   call_hook fails, so a 503 would lose both;
 * - `call_status_hook`: signals, 200 once Temporal has them, 503 otherwise (within the deadline).
 */
export async function jambonzWebhooks(app: FastifyInstance, options: JambonzWebhookOptions): Promise<void> {
  const { sessions, secrets } = options;
  const documents: DocumentOptions = { publicBaseUrl: options.publicBaseUrl, secret: secrets[0] ?? '' };
  rawBodies(app);
  await app.register(jambonzRecordings, { dir: options.recordingsDir, secrets, log: app.log });

  app.post(
    JAMBONZ_HOOK_PATH,
    webhookRoute(
      async (webhook, request, reply, budget) => {
        const signature = verifyJambonzSignature(webhook, secrets);
        if (!signature.ok) throw refuse(401, 'invalid signature', signature.reason, 'jambonz hook refused');
        const hookParam = (request.query as Record<string, unknown>).hook;
        if (typeof hookParam !== 'string' || !HOOKS.has(hookParam)) {
          const named = typeof hookParam === 'string' ? hookParam : '';
          throw refuse(400, 'unknown hook', `?hook=${named} is not a jambonz hook this gateway serves`);
        }
        if (hookParam === JambonzHook.Confirm) {
          // A dial's callee answered: the whisper its signed URL carries, the session need not be asked.
          const confirm = verifyConfirmHook(webhook.url, secrets);
          if (!confirm.ok) throw refuse(401, 'invalid hook token', confirm.reason, 'jambonz hook URL refused');
          logWorkflowId(request, reply, confirm.workflowId);
          return sendVerbs(reply, confirmDocument(confirm.text));
        }
        if (hookParam === JambonzHook.Member) {
          // A supervised call's agent or supervisor: its room and role are in its signed URL.
          const member = verifyMemberHook(webhook.url, secrets);
          if (!member.ok) throw refuse(401, 'invalid hook token', member.reason, 'jambonz hook URL refused');
          logWorkflowId(request, reply, member.workflowId);
          return sendVerbs(reply, roomMemberDocument(member.room, member.as));
        }
        const token = verifyHookToken(webhook.url, secrets);
        if (!token.ok) throw refuse(401, 'invalid hook token', token.reason, 'jambonz hook URL refused');
        const { hook, controlId } = token;

        const routed = normalised('malformed webhook', () => normalise(webhook.rawBody, hook, controlId));
        let events = routed.events;
        if (hook === JambonzHook.Listen && token.workflowId && controlId) {
          // The socket saved it under the command key, whichever delivery of the command this hook reports.
          const saved = recordingName(documents.secret, token.workflowId, readControlId(controlId).commandKey);
          const url = recordingUrl(options.publicBaseUrl, saved);
          events = events.map((e) => (e.kind === 'recording.saved' ? { ...e, url } : e));
        }
        // The hook URL (verified) names the session; otherwise the payload does (customerData, parent, inbound).
        const owner = token.workflowId ?? routed.ownerWorkflowId;
        if (owner) logWorkflowId(request, reply, owner);

        if (NOTIFICATIONS.has(hook)) {
          if (!owner || events.length === 0) return ignored(reply, owner ? 'no event' : 'no session owns this call');
          const deliveries = await deliverEach(budget, events, (event, deadline) =>
            sessions.signal(owner, event, { deadline }),
          );
          return hook === JambonzHook.Amd ? reply.code(204).send() : accepted(reply, request, deliveries);
        }
        if (!owner) throw refuse(400, 'malformed webhook', 'the hook names no session and the call is not inbound');

        if (hook === JambonzHook.Wait) {
          // Polled while the caller waits in a queue; only play, say, pause and leave may answer it.
          await deliverEach(budget, events, (event, deadline) => sessions.signal(owner, event, { deadline }));
          return sendVerbs(reply, queueHoldingDocument());
        }

        // A hold served while Temporal was unreachable: what it carries goes first, as the lost hook would have.
        const carried = carriedOf(token.carried);
        const all = withCarried(carried, events);
        const incoming = all.find(
          (e): e is Extract<CallEvent, { kind: 'call.incoming' }> => e.kind === 'call.incoming',
        );
        const newCall = (hook === JambonzHook.Call && !token.workflowId) || carried?.s === 1;
        const start =
          newCall && incoming?.direction === 'inbound'
            ? inboundSessionInput('jambonz', incoming, options.routing, options.sessionDefaults)
            : undefined;
        const handedBack = carried?.h ?? controlId;
        try {
          const answer = await toTemporal(budget, (deadline) =>
            sessions.nextDocument(
              owner,
              { events: all, ...(handedBack !== undefined && { handedBack }), waitMs: options.hookWaitMs },
              { updateId: updateIdOf('jambonz:', webhook), deadline, ...(start && { start }) },
            ),
          );
          return sendVerbs(reply, verbsFor(answer, owner, request.log));
        } catch (err) {
          if (!(err instanceof NotTaken)) throw err;
          // Temporal took nothing in time: hold the call, the events travel in the redirect until it does.
          const held: Carried = {
            e: all,
            ...(start && { s: 1 as const }),
            ...(handedBack !== undefined && { h: handedBack }),
          };
          const extras = carry(held);
          if (!extras) {
            request.log.error({ workflowId: owner, events: all.length }, 'events too large to carry in a hold URL');
            throw err;
          }
          request.log.warn({ workflowId: owner, events: all.length, err: err.cause }, 'Temporal unavailable; holding');
          return sendVerbs(reply, holdDocumentFor(documents, owner, undefined, extras));
        }
      },
      { deadlineMs: options.hookDeadlineMs },
    ),
  );

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
      case 'continue':
        // An empty answer: jambonz goes on with the verbs it runs.
        return [];
      case 'hangup':
      case 'late':
        return hangupDocument();
    }
  }
}

/**
 * The hook's events. A verb's hook after a hang-up carries the call's end itself; applying it first means the
 * flow never acts on an outcome of a call that is already over (same event id as the status hook's).
 */
function normalise(rawBody: Buffer, hook: JambonzHook, controlId: string | undefined): RoutedEvents {
  const receivedAt = new Date().toISOString();
  const routed = normaliseJambonzWebhook(rawBody, { hook, controlId, receivedAt });
  const payload = JSON.parse(rawBody.toString('utf8')) as { call_sid: string; call_status?: unknown };
  if (
    hook === JambonzHook.Status ||
    hook === JambonzHook.Call ||
    typeof payload.call_status !== 'string' ||
    !ENDED_STATUSES.has(payload.call_status)
  )
    return routed;
  const ended = normaliseJambonzWebhook(rawBody, { hook: JambonzHook.Status, receivedAt }).events;
  return { ...routed, events: [...ended.filter((e) => e.callId === payload.call_sid), ...routed.events] };
}

function sendVerbs(reply: FastifyReply, verbs: JambonzVerb[]): FastifyReply {
  return reply.code(200).header('content-type', 'application/json').send(JSON.stringify(verbs));
}
