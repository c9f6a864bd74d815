import type { FastifyInstance, FastifyReply } from 'fastify';

/**
 * Temporal did not take the event: 503, so the carrier delivers it again later. Webhook replies only, in the
 * carriers' `{ error, reason }` shape; the REST API answers problem details (`temporalUnavailable` in problem.ts).
 */
export function unavailable(reply: FastifyReply, err: unknown, log: FastifyInstance['log']): FastifyReply {
  log.error({ err }, 'Temporal did not accept the event; asking the carrier to retry');
  return reply
    .code(503)
    .header('retry-after', '1')
    .send({ error: 'temporarily unavailable', reason: 'the event could not be handed to Temporal; retry later' });
}
