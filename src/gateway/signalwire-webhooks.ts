import { createHash, randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import {
  inboundCallWorkflowId,
  type CallEvent,
  type CallSessionInput,
  type DocumentReply,
  type SessionDefaults,
} from '../calls';
import { routeFor, type RoutingTable } from '../config';
import {
  SIGNALWIRE_WEBHOOK_PATHS,
  callbackOwner,
  documentForCommands,
  documentUrl,
  hangupDocument,
  holdingDocument,
  isNumberStatusUrl,
  legStatusFromWire,
  normaliseDocumentRequest,
  normaliseStatusCallback,
  verifySignalWireSignature,
  type CallbackConfig,
  type DocumentFetch,
  type SwmlDocument,
} from '../providers/signalwire';
import { documentOpsOf } from '../providers/carriers';
import { MalformedWebhookError } from '../providers/types';
import type { Delivery, Sessions } from './sessions';
import { unavailable } from './replies';

export interface SignalWireWebhookOptions {
  sessions: Sessions;
  routing: RoutingTable;
  /** The URL SignalWire reaches the gateway at: what it signs, and what our callback URLs start with. */
  publicBaseUrl: string;
  /** The project's signing key: verifies SWML fetches and keys our callback-URL tokens. */
  signingKey: string;
  /** How long a document fetch waits for the flow's next step before the call gets a holding document. */
  documentWaitMs?: number;
  /** Spread into every session this gateway starts. */
  sessionDefaults: SessionDefaults;
}

/**
 * Below the ~10 s SignalWire (and the simulator) give a document fetch, with room for the deadline
 * `nextDocument` adds on top.
 */
export const DEFAULT_DOCUMENT_WAIT_MS = 4000;

/**
 * SignalWire's two ways into the gateway, as an encapsulated fastify plugin (raw bodies, scoped here):
 *
 * - `POST /webhooks/signalwire/swml`: SWML document fetches. The signature (`X-SignalWire-Signature`,
 *   HMAC over the public URL and the raw bytes) is checked first: 401 when missing or wrong, and nothing
 *   starts. A fetch without `wf` is an inbound call's first fetch: the routing table picks the flow and the
 *   session starts with update-with-start. A fetch with `wf` (a hand-back from one of our documents, a
 *   hold running out, a redirect, a dialed call's first fetch) must also carry the token `wf` is signed
 *   with. The session's `nextDocument` update answers with the next steps, rendered as one SWML document
 *   ending with the hand-back; a hold, or a hang-up once the session is over.
 * - `POST /webhooks/signalwire/status`: status callbacks. They are not signed (undocumented), so their URL
 *   carries the token: a session's `status_url` (`wf` + token), or the phone number's Status Change Webhook
 *   (`numberStatusUrl`, routed by call id). 401 for a bad token, 400 for a body that is not a callback,
 *   200 only once Temporal has every event (503 otherwise, and SignalWire retries), 200 for a session
 *   that has ended.
 */
export async function signalwireWebhooks(app: FastifyInstance, options: SignalWireWebhookOptions): Promise<void> {
  const { sessions, routing, signingKey } = options;
  const publicBaseUrl = options.publicBaseUrl.replace(/\/+$/, '');
  const callbacks: CallbackConfig = { publicBaseUrl, secret: signingKey };
  const waitMs = options.documentWaitMs ?? DEFAULT_DOCUMENT_WAIT_MS;

  // Signatures cover the exact bytes, so these routes get the body unparsed (JSON included). Scoped to this plugin.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: 1024 * 1024 }, (_req, body, done) => done(null, body));

  const incoming = (request: FastifyRequest) => ({
    // The URL SignalWire called, as it signed it: our public base URL and the path and query it requested.
    url: publicBaseUrl + request.url,
    headers: Object.fromEntries(
      Object.entries(request.headers).map(([k, v]) => [k.toLowerCase(), Array.isArray(v) ? v[0] : v]),
    ),
    rawBody: Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0),
  });

  app.post(SIGNALWIRE_WEBHOOK_PATHS.document, async (request, reply) => {
    const webhook = incoming(request);
    const verified = verifySignalWireSignature(webhook, signingKey);
    if (!verified.ok) {
      request.log.warn({ reason: verified.reason }, 'signalwire document fetch refused');
      return reply.code(401).send({ error: 'invalid signature', reason: verified.reason });
    }
    const owner = callbackOwner(webhook.url, signingKey);
    if (!owner.ok) return reply.code(401).send({ error: 'invalid callback url', reason: owner.reason });

    let fetch: DocumentFetch;
    try {
      fetch = normaliseDocumentRequest(webhook.rawBody, new Date().toISOString());
    } catch (err) {
      if (err instanceof MalformedWebhookError)
        return reply.code(400).send({ error: 'malformed document fetch', reason: err.message });
      throw err;
    }

    let workflowId = owner.workflowId;
    let start: CallSessionInput | undefined;
    if (!workflowId) {
      // Only an inbound call's first fetch names no session: every URL we hand out carries `wf`.
      if (fetch.direction !== 'inbound') {
        return reply
          .code(400)
          .send({ error: 'malformed document fetch', reason: 'an outbound call fetched a URL that names no session' });
      }
      workflowId = inboundCallWorkflowId('signalwire', fetch.callId);
      const route = routeFor(routing, fetch.to);
      start = {
        provider: 'signalwire',
        direction: 'inbound',
        flow: route.flow,
        flowArgs: route.args,
        from: fetch.from,
        to: fetch.to,
        callId: fetch.callId,
        documentOps: documentOpsOf('signalwire'),
        ...options.sessionDefaults,
      };
    }

    let answer: DocumentReply | { kind: 'late' };
    try {
      answer = await sessions.nextDocument(
        workflowId,
        {
          events: fetch.events,
          ...(fetch.step ? { handedBack: fetch.step.key } : {}),
          ...redirectedBy(webhook.url),
          waitMs,
        },
        // A carrier retry of this very fetch (same URL, same bytes) gets the same answer; no other fetch
        // repeats them (hand-backs name their step, holds their hold, redirects their key).
        {
          updateId: `swml-${createHash('sha256').update(webhook.url).update('\n').update(webhook.rawBody).digest('base64url')}`,
          start,
        },
      );
    } catch (err) {
      return unavailable(reply, err, request.log);
    }
    return reply
      .code(200)
      .header('content-type', 'application/json')
      .send(render(answer, workflowId, fetch));
  });

  function render(answer: DocumentReply | { kind: 'late' }, workflowId: string, fetch: DocumentFetch): SwmlDocument {
    switch (answer.kind) {
      case 'commands':
        return documentForCommands(answer.commands, callbacks);
      case 'hold':
        return holdingDocument({
          documentUrl: documentUrl(publicBaseUrl, signingKey, workflowId),
          answered: legStatusFromWire(fetch.callState) === 'answered',
          holdId: randomUUID(),
        });
      case 'hangup':
      case 'late':
        return hangupDocument('hangup');
    }
  }

  app.post(SIGNALWIRE_WEBHOOK_PATHS.status, async (request, reply) => {
    const webhook = incoming(request);
    const owner = callbackOwner(webhook.url, signingKey);
    if (!owner.ok) return reply.code(401).send({ error: 'invalid callback url', reason: owner.reason });
    if (
      !owner.workflowId &&
      !isNumberStatusUrl(webhook.url, signingKey) &&
      !verifySignalWireSignature(webhook, signingKey).ok
    ) {
      return reply.code(401).send({
        error: 'invalid callback url',
        reason: 'a status callback must carry our token (or a valid signature)',
      });
    }

    let events: CallEvent[];
    try {
      events = normaliseStatusCallback(webhook.rawBody);
    } catch (err) {
      if (err instanceof MalformedWebhookError)
        return reply.code(400).send({ error: 'malformed status callback', reason: err.message });
      throw err;
    }
    if (events.length === 0) return reply.code(200).send({ status: 'ignored', reason: 'event type not used' });

    const deliveries: Delivery[] = [];
    try {
      for (const event of events) {
        deliveries.push(
          await sessions.signal(owner.workflowId ?? inboundCallWorkflowId('signalwire', event.callId), event),
        );
      }
    } catch (err) {
      return unavailable(reply, err, request.log);
    }
    for (const d of deliveries) {
      if (d.outcome === 'late')
        request.log.info({ workflowId: d.workflowId }, 'event for a session that has ended; acknowledged');
    }
    return reply.code(200).send({ status: 'accepted', deliveries });
  });
}

/** The session's redirect a fetch answers: the adapter puts its command key in the document URL. */
function redirectedBy(url: string): { redirectedBy?: string } {
  const key = new URL(url, 'http://gateway.invalid').searchParams.get('redirect');
  return key ? { redirectedBy: key } : {};
}
