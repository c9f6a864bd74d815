import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { CallOp, CallSessionInput, Provider, SessionDefaults } from '../../calls';
import { routeFor, type RoutingTable } from '../../config';
import { documentOpsOf } from '../../providers/carriers';
import { MalformedWebhookError, type IncomingWebhook } from '../../providers/types';
import { unavailable } from '../replies';
import type { Delivery } from '../sessions';

/**
 * What every carrier's webhook route does the same way: raw bytes in, verify (401, nothing started),
 * normalise (400), hand to Temporal (503 if it does not take it, so the carrier retries), acknowledge (200,
 * late events included). A route is `webhookRoute(async (webhook, request, reply) => ...)`; its steps throw
 * `refuse(...)`, or go through `normalised` and `toTemporal`, and the wrapper turns them into replies.
 */

/** Signatures cover the exact bytes, so the plugin's routes get bodies unparsed (JSON included). Scoped to it. */
export function rawBodies(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: 1024 * 1024 }, (_req, body, done) => done(null, body));
}

/** The webhook as the adapters read it; `publicBaseUrl` when the carrier signs the URL it called. */
export function incomingWebhook(request: FastifyRequest, publicBaseUrl = ''): IncomingWebhook {
  return {
    url: publicBaseUrl + request.url,
    headers: Object.fromEntries(
      Object.entries(request.headers).map(([k, v]) => [k.toLowerCase(), Array.isArray(v) ? v[0] : v]),
    ),
    rawBody: Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0),
  };
}

/** A reply decided before anything reached Temporal: 401 (not ours) or 400 (not readable). */
export class WebhookRefused extends Error {
  constructor(
    readonly status: 400 | 401,
    readonly error: string,
    readonly reason: string,
    /** Logged at warn with the reason, when the refusal is worth a line. */
    readonly logMessage?: string,
  ) {
    super(reason);
  }
}

export function refuse(status: 400 | 401, error: string, reason: string, logMessage?: string): WebhookRefused {
  return new WebhookRefused(status, error, reason, logMessage);
}

/** Runs an adapter's normaliser: a body it cannot read is a 400 with `error` and the adapter's reason. */
export function normalised<T>(error: string, normalise: () => T): T {
  try {
    return normalise();
  } catch (err) {
    if (err instanceof MalformedWebhookError) throw refuse(400, error, err.message);
    throw err;
  }
}

/** Temporal did not take the event (unreachable, timed out): the route answers 503. */
class NotTaken extends Error {
  constructor(override readonly cause: unknown) {
    super('Temporal did not take the event');
  }
}

/** A call into Temporal (signal, update); its failure becomes the shared 503 reply. */
export async function toTemporal<T>(send: () => Promise<T>): Promise<T> {
  try {
    return await send();
  } catch (err) {
    throw new NotTaken(err);
  }
}

/** Hands every event to its session, in order; 503 unless Temporal has them all. */
export function deliverEach<E>(events: readonly E[], deliver: (event: E) => Promise<Delivery>): Promise<Delivery[]> {
  return toTemporal(async () => {
    const deliveries: Delivery[] = [];
    for (const event of events) deliveries.push(await deliver(event));
    return deliveries;
  });
}

/** 200 once Temporal has every event; a late one (its session has ended) is acknowledged and logged. */
export function accepted(reply: FastifyReply, request: FastifyRequest, deliveries: Delivery[]): FastifyReply {
  for (const d of deliveries) {
    if (d.outcome === 'late')
      request.log.info({ workflowId: d.workflowId }, 'event for a session that has ended; acknowledged');
  }
  return reply.code(200).send({ status: 'accepted', deliveries });
}

export function ignored(reply: FastifyReply, reason = 'event type not used'): FastifyReply {
  return reply.code(200).send({ status: 'ignored', reason });
}

type WebhookHandler = (webhook: IncomingWebhook, request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply>;

/** A webhook route's handler: refusals and Temporal failures become their replies here, once. */
export function webhookRoute(handle: WebhookHandler, publicBaseUrl = '') {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    try {
      return await handle(incomingWebhook(request, publicBaseUrl), request, reply);
    } catch (err) {
      if (err instanceof NotTaken) return unavailable(reply, err.cause, request.log);
      if (!(err instanceof WebhookRefused)) throw err;
      if (err.logMessage) request.log.warn({ reason: err.reason }, err.logMessage);
      return reply.code(err.status).send({ error: err.error, reason: err.reason });
    }
  };
}

/** The input of a session an inbound call starts: the routing table picks the flow by the dialed number. */
export function inboundSessionInput(
  provider: Provider,
  call: { from: string; to: string; callId: string },
  routing: RoutingTable,
  sessionDefaults: SessionDefaults,
): CallSessionInput {
  const route = routeFor(routing, call.to);
  const documentOps: CallOp[] = documentOpsOf(provider);
  return {
    provider,
    direction: 'inbound',
    flow: route.flow,
    flowArgs: route.args,
    from: call.from,
    to: call.to,
    callId: call.callId,
    ...(documentOps.length > 0 && { documentOps }),
    ...sessionDefaults,
  };
}

/**
 * Names a `nextDocument` update after the request (URL and exact bytes), so a carrier retrying a request gets
 * the answer the first attempt got. `prefix` is the carrier's, unchanged so ids stay stable across deploys.
 */
export function updateIdOf(prefix: 'swml-' | 'jambonz:', webhook: IncomingWebhook): string {
  const hash = createHash('sha256').update(webhook.url).update('\n').update(webhook.rawBody);
  return `${prefix}${hash.digest('base64url')}`;
}
