import type { FastifyInstance } from 'fastify';
import { inboundCallWorkflowId, type CallEvent, type SessionDefaults } from '../../calls';
import type { RoutingTable } from '../../config';
import type { CommandCarrier } from '../../providers/types';
import type { Delivery, Sessions } from '../sessions';
import {
  accepted,
  deliverEach,
  ignored,
  inboundSessionInput,
  normalised,
  rawBodies,
  refuse,
  webhookRoute,
} from './pipeline';

export interface TelnyxWebhookOptions {
  adapter: CommandCarrier;
  sessions: Sessions;
  routing: RoutingTable;
  /** Spread into every session this gateway starts. */
  sessionDefaults: SessionDefaults;
}

/**
 * `POST /webhooks/telnyx`: raw bytes → signature check → normalise → hand to the session → 2xx.
 * 401 for a bad signature (nothing started), 400 for a body that is not a Telnyx event, 503 when Temporal
 * does not take the event (Telnyx retries), 200 for an event of a session that has already ended.
 */
export async function telnyxWebhooks(app: FastifyInstance, options: TelnyxWebhookOptions): Promise<void> {
  const { adapter, sessions } = options;
  rawBodies(app);

  app.post(
    '/webhooks/telnyx',
    webhookRoute(async (webhook, request, reply) => {
      const verified = adapter.verify(webhook);
      if (!verified.ok) throw refuse(401, 'invalid signature', verified.reason, 'telnyx webhook refused');
      const routed = normalised('malformed webhook', () => adapter.normalise(webhook.rawBody));
      if (routed.events.length === 0) return ignored(reply);
      return accepted(reply, request, await deliverEach(routed.events, (e) => deliver(e, routed.ownerWorkflowId)));
    }),
  );

  function deliver(event: CallEvent, ownerWorkflowId: string | undefined): Promise<Delivery> {
    if (ownerWorkflowId) return sessions.signal(ownerWorkflowId, event);
    const workflowId = inboundCallWorkflowId('telnyx', event.callId);
    if (event.kind !== 'call.incoming') return sessions.signal(workflowId, event);
    const input = inboundSessionInput('telnyx', event, options.routing, options.sessionDefaults);
    return sessions.signalWithStart(workflowId, input, event);
  }
}
