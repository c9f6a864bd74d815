import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { inboundCallWorkflowId, type CallSessionInput, type DocumentReply, type SessionDefaults } from '../../calls';
import type { RoutingTable } from '../../config';
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
  numberStatusUrl,
  verifySignalWireSignature,
  type CallbackConfig,
  type DocumentFetch,
  type SwmlDocument,
} from '../../providers/signalwire';
import type { SessionUrlExtras } from '../../providers/session-url';
import type { Sessions } from '../sessions';
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

export interface SignalWireWebhookOptions {
  sessions: Sessions;
  routing: RoutingTable;
  /** The URL SignalWire reaches the gateway at: what it signs, and what our callback URLs start with. */
  publicBaseUrl: string;
  /** The project's signing key: verifies SWML fetches and keys our callback-URL tokens. */
  signingKey: string;
  /** How long a document fetch waits for the flow's next step before the call gets a holding document. */
  documentWaitMs: number;
  /** When every fetch and callback is answered at the latest, whatever Temporal does (inside SignalWire's timeout). */
  fetchDeadlineMs: number;
  /** Spread into every session this gateway starts. */
  sessionDefaults: SessionDefaults;
}

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
  const { sessions, signingKey } = options;
  const publicBaseUrl = options.publicBaseUrl.replace(/\/+$/, '');
  const callbacks: CallbackConfig = { publicBaseUrl, secret: signingKey };
  rawBodies(app);
  // The phone number's Status Change Webhook (inbound hang-ups reach sessions this way): its token is ours.
  app.log.info({ statusChangeWebhook: numberStatusUrl(publicBaseUrl, signingKey) }, 'signalwire configured');

  /** The session a URL names, by its verified token, and what a hold's URL carries; 401 for a forged or expired one. */
  const verifiedUrl = (url: string) => {
    const owner = callbackOwner(url, signingKey);
    if (!owner.ok) throw refuse(401, 'invalid callback url', owner.reason);
    return owner;
  };
  const ownerOf = (url: string) => verifiedUrl(url).workflowId;

  // SignalWire signs the URL it called: our public base URL and the path and query it requested.
  const route = (handle: Parameters<typeof webhookRoute>[0]) =>
    webhookRoute(handle, { publicBaseUrl, deadlineMs: options.fetchDeadlineMs });

  app.post(
    SIGNALWIRE_WEBHOOK_PATHS.document,
    route(async (webhook, request, reply, budget) => {
      const verified = verifySignalWireSignature(webhook, signingKey);
      if (!verified.ok) throw refuse(401, 'invalid signature', verified.reason, 'signalwire document fetch refused');
      const url = verifiedUrl(webhook.url);
      const fetch = normalised('malformed document fetch', () =>
        normaliseDocumentRequest(webhook.rawBody, new Date().toISOString()),
      );
      // A hold served while Temporal was unreachable: what it carries goes first, as the lost fetch would have.
      const carried = carriedOf(url.carried);
      const events = withCarried(carried, fetch.events);

      let workflowId = url.workflowId;
      let start: CallSessionInput | undefined;
      if (!workflowId) {
        // Only an inbound call's first fetch names no session: every URL we hand out carries `wf`.
        if (fetch.direction !== 'inbound')
          throw refuse(400, 'malformed document fetch', 'an outbound call fetched a URL that names no session');
        workflowId = inboundCallWorkflowId('signalwire', fetch.callId);
        start = inboundSessionInput('signalwire', fetch, options.routing, options.sessionDefaults);
      } else if (carried?.s === 1) {
        start = inboundSessionInput('signalwire', fetch, options.routing, options.sessionDefaults);
      }
      const sessionId = workflowId;
      logWorkflowId(request, reply, sessionId);
      const handedBack = carried?.h ?? fetch.step?.key;
      const redirect = carried?.r ?? redirectedBy(webhook.url);
      const send = (document: SwmlDocument) =>
        reply.code(200).header('content-type', 'application/json').send(document);
      try {
        const answer = await toTemporal(budget, (deadline) =>
          sessions.nextDocument(
            sessionId,
            {
              events,
              ...(handedBack !== undefined && { handedBack }),
              ...(redirect !== undefined && { redirectedBy: redirect }),
              waitMs: options.documentWaitMs,
            },
            // A carrier retry of this very fetch (same URL, same bytes) gets the same answer; no other fetch
            // repeats them (hand-backs name their step, holds their hold, redirects their key).
            { updateId: updateIdOf('swml-', webhook), start, deadline },
          ),
        );
        return send(render(answer, sessionId, fetch));
      } catch (err) {
        if (!(err instanceof NotTaken)) throw err;
        // Temporal took nothing in time: hold the call, the events travel in the hand-back URL until it does.
        const carrying: Carried = {
          e: events,
          ...(start && { s: 1 as const }),
          ...(handedBack !== undefined && { h: handedBack }),
          ...(redirect !== undefined && { r: redirect }),
        };
        const extras = carry(carrying);
        if (!extras) {
          request.log.error(
            { workflowId: sessionId, events: events.length },
            'events too large to carry in a hold URL',
          );
          throw err;
        }
        request.log.warn(
          { workflowId: sessionId, events: events.length, err: err.cause },
          'Temporal unavailable; holding',
        );
        return send(held(sessionId, fetch, extras));
      }
    }),
  );

  /**
   * The hold of a fetch Temporal did not take: ringback while unanswered, silence once answered, for a few
   * seconds only (no REST command can reach the call meanwhile), then back to a URL that carries the events.
   */
  function held(workflowId: string, fetch: DocumentFetch, extras: SessionUrlExtras): SwmlDocument {
    return holdingDocument({
      documentUrl: documentUrl(publicBaseUrl, signingKey, workflowId, extras),
      answered: legStatusFromWire(fetch.callState) === 'answered',
      holdId: randomUUID(),
      seconds: OUTAGE_HOLD_SECONDS,
    });
  }

  function render(answer: DocumentReply | { kind: 'late' }, workflowId: string, fetch: DocumentFetch): SwmlDocument {
    switch (answer.kind) {
      case 'commands':
        return documentForCommands(answer.commands, callbacks);
      // SWML runs the document it fetched: there is no "carry on", so a stale request holds (as before).
      case 'continue':
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

  app.post(
    SIGNALWIRE_WEBHOOK_PATHS.status,
    route(async (webhook, request, reply, budget) => {
      const owner = ownerOf(webhook.url);
      if (!owner && !isNumberStatusUrl(webhook.url, signingKey) && !verifySignalWireSignature(webhook, signingKey).ok)
        throw refuse(401, 'invalid callback url', 'a status callback must carry our token (or a valid signature)');
      const events = normalised('malformed status callback', () => normaliseStatusCallback(webhook.rawBody));
      if (events.length === 0) return ignored(reply);
      const deliveries = await deliverEach(budget, events, (event, deadline) =>
        sessions.signal(owner ?? inboundCallWorkflowId('signalwire', event.callId), event, { deadline }),
      );
      return accepted(reply, request, deliveries);
    }),
  );
}

/** Seconds a hold served while Temporal is unreachable lasts before the call comes back with its events. */
const OUTAGE_HOLD_SECONDS = 5;

/** The session's redirect a fetch answers: the adapter puts its command key in the document URL. */
function redirectedBy(url: string): string | undefined {
  return new URL(url, 'http://gateway.invalid').searchParams.get('redirect') ?? undefined;
}
