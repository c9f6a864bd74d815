import type { FastifyInstance } from 'fastify';
import { inboundCallWorkflowId, type CallEvent, type SessionDefaults } from '../calls';
import { routeFor, type RoutingTable } from '../config';
import { MalformedWebhookError, type CommandCarrier } from '../providers/types';
import { unavailable } from './replies';
import type { Delivery, Sessions } from './sessions';

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
  const { adapter, sessions, routing } = options;

  // Signatures cover the exact bytes, so this route gets the body unparsed (JSON included). Scoped to this plugin.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: 1024 * 1024 }, (_req, body, done) => done(null, body));

  app.post('/webhooks/telnyx', async (request, reply) => {
    const rawBody = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    const headers = Object.fromEntries(
      Object.entries(request.headers).map(([k, v]) => [k.toLowerCase(), Array.isArray(v) ? v[0] : v]),
    );
    const verified = adapter.verify({ url: request.url, headers, rawBody });
    if (!verified.ok) {
      request.log.warn({ reason: verified.reason }, 'telnyx webhook refused');
      return reply.code(401).send({ error: 'invalid signature', reason: verified.reason });
    }

    let routed;
    try {
      routed = adapter.normalise(rawBody);
    } catch (err) {
      if (err instanceof MalformedWebhookError)
        return reply.code(400).send({ error: 'malformed webhook', reason: err.message });
      throw err;
    }
    if (routed.events.length === 0) return reply.code(200).send({ status: 'ignored', reason: 'event type not used' });

    const deliveries: Delivery[] = [];
    try {
      for (const event of routed.events) deliveries.push(await deliver(event, routed.ownerWorkflowId));
    } catch (err) {
      return unavailable(reply, err, request.log);
    }
    for (const d of deliveries) {
      if (d.outcome === 'late')
        request.log.info({ workflowId: d.workflowId }, 'event for a session that has ended; acknowledged');
    }
    return reply.code(200).send({ status: 'accepted', deliveries });
  });

  function deliver(event: CallEvent, ownerWorkflowId: string | undefined): Promise<Delivery> {
    if (ownerWorkflowId) return sessions.signal(ownerWorkflowId, event);
    const workflowId = inboundCallWorkflowId('telnyx', event.callId);
    if (event.kind === 'call.incoming') {
      const route = routeFor(routing, event.to);
      return sessions.signalWithStart(
        workflowId,
        {
          provider: 'telnyx',
          direction: 'inbound',
          flow: route.flow,
          flowArgs: route.args,
          from: event.from,
          to: event.to,
          callId: event.callId,
          ...options.sessionDefaults,
        },
        event,
      );
    }
    return sessions.signal(workflowId, event);
  }
}
