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
import type { Sessions } from '../sessions';
import {
  accepted,
  deliverEach,
  ignored,
  inboundSessionInput,
  normalised,
  rawBodies,
  refuse,
  toTemporal,
  updateIdOf,
  webhookRoute,
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

  /** The session a URL names, by its verified token; 401 for a forged one. */
  const ownerOf = (url: string) => {
    const owner = callbackOwner(url, signingKey);
    if (!owner.ok) throw refuse(401, 'invalid callback url', owner.reason);
    return owner.workflowId;
  };

  // SignalWire signs the URL it called: our public base URL and the path and query it requested.
  const route = (handle: Parameters<typeof webhookRoute>[0]) => webhookRoute(handle, publicBaseUrl);

  app.post(
    SIGNALWIRE_WEBHOOK_PATHS.document,
    route(async (webhook, _request, reply) => {
      const verified = verifySignalWireSignature(webhook, signingKey);
      if (!verified.ok) throw refuse(401, 'invalid signature', verified.reason, 'signalwire document fetch refused');
      const owner = ownerOf(webhook.url);
      const fetch = normalised('malformed document fetch', () =>
        normaliseDocumentRequest(webhook.rawBody, new Date().toISOString()),
      );

      let workflowId = owner;
      let start: CallSessionInput | undefined;
      if (!workflowId) {
        // Only an inbound call's first fetch names no session: every URL we hand out carries `wf`.
        if (fetch.direction !== 'inbound')
          throw refuse(400, 'malformed document fetch', 'an outbound call fetched a URL that names no session');
        workflowId = inboundCallWorkflowId('signalwire', fetch.callId);
        start = inboundSessionInput('signalwire', fetch, options.routing, options.sessionDefaults);
      }
      const sessionId = workflowId;
      const answer = await toTemporal(() =>
        sessions.nextDocument(
          sessionId,
          {
            events: fetch.events,
            ...(fetch.step ? { handedBack: fetch.step.key } : {}),
            ...redirectedBy(webhook.url),
            waitMs: options.documentWaitMs,
          },
          // A carrier retry of this very fetch (same URL, same bytes) gets the same answer; no other fetch
          // repeats them (hand-backs name their step, holds their hold, redirects their key).
          { updateId: updateIdOf('swml-', webhook), start },
        ),
      );
      return reply
        .code(200)
        .header('content-type', 'application/json')
        .send(render(answer, sessionId, fetch));
    }),
  );

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

  app.post(
    SIGNALWIRE_WEBHOOK_PATHS.status,
    route(async (webhook, request, reply) => {
      const owner = ownerOf(webhook.url);
      if (!owner && !isNumberStatusUrl(webhook.url, signingKey) && !verifySignalWireSignature(webhook, signingKey).ok)
        throw refuse(401, 'invalid callback url', 'a status callback must carry our token (or a valid signature)');
      const events = normalised('malformed status callback', () => normaliseStatusCallback(webhook.rawBody));
      if (events.length === 0) return ignored(reply);
      const deliveries = await deliverEach(events, (event) =>
        sessions.signal(owner ?? inboundCallWorkflowId('signalwire', event.callId), event),
      );
      return accepted(reply, request, deliveries);
    }),
  );
}

/** The session's redirect a fetch answers: the adapter puts its command key in the document URL. */
function redirectedBy(url: string): { redirectedBy?: string } {
  const key = new URL(url, 'http://gateway.invalid').searchParams.get('redirect');
  return key ? { redirectedBy: key } : {};
}
