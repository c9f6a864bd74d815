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
  /** Answer by then: a 503 if Temporal has not taken the events (Telnyx retries for about a minute). */
  deadlineMs: number;
  /** Spread into every session this gateway starts. */
  sessionDefaults: SessionDefaults;
}

/**
 * `POST /webhooks/telnyx`: raw bytes → signature check → normalise → hand to the session → 2xx.
 * 401 for a bad signature (nothing started), 400 for a body that is not a Telnyx event, 503 when Temporal
 * does not take the event within `deadlineMs` (Telnyx retries), 200 for an event of a session that has ended.
 */
export async function telnyxWebhooks(app: FastifyInstance, options: TelnyxWebhookOptions): Promise<void> {
  const { adapter, sessions } = options;
  // Received faxes are looked up at the carrier after the sessions' quiet period, when one is configured.
  const { liveness } = options.sessionDefaults;
  const faxLiveness = liveness ? { liveness } : {};
  rawBodies(app);

  app.post(
    '/webhooks/telnyx',
    webhookRoute(
      async (webhook, request, reply, budget) => {
        const verified = adapter.verify(webhook);
        if (!verified.ok) throw refuse(401, 'invalid signature', verified.reason, 'telnyx webhook refused');
        const routed = normalised('malformed webhook', () => adapter.normalise(webhook.rawBody));
        if (routed.events.length === 0) return ignored(reply);
        const { receivedFax } = routed;
        const deliveries = await deliverEach(budget, routed.events, (e, deadline) =>
          receivedFax
            ? sessions.receivedFax({ ...receivedFax, ...faxLiveness }, e, { deadline })
            : deliver(e, routed.ownerWorkflowId, deadline),
        );
        return accepted(reply, request, deliveries);
      },
      { deadlineMs: options.deadlineMs },
    ),
  );

  function deliver(event: CallEvent, ownerWorkflowId: string | undefined, deadline: number): Promise<Delivery> {
    if (ownerWorkflowId) return sessions.signal(ownerWorkflowId, event, { deadline });
    const workflowId = inboundCallWorkflowId('telnyx', event.callId);
    if (event.kind !== 'call.incoming') return sessions.signal(workflowId, event, { deadline });
    const input = inboundSessionInput('telnyx', event, options.routing, options.sessionDefaults);
    return sessions.signalWithStart(workflowId, input, event, { deadline });
  }
}
