import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { CallEvent, CallOp, CallSessionInput, Provider, SessionDefaults } from '../../calls';
import { routeFor, type RoutingTable } from '../../config';
import { documentOpsOf } from '../../providers/carriers';
import { decodeCarried, encodeCarried, expiryIn, type SessionUrlExtras } from '../../providers/session-url';
import { MalformedWebhookError, type IncomingWebhook } from '../../providers/types';
import { unavailable } from '../replies';
import type { Delivery } from '../sessions';

/**
 * What every carrier's webhook route does the same way: raw bytes in, verify (401, nothing started),
 * normalise (400), hand to Temporal (503 if it does not take it, so the carrier retries), acknowledge (200,
 * late events included). A route is `webhookRoute(async (webhook, request, reply, budget) => ...)`; its steps
 * throw `refuse(...)`, or go through `normalised` and `toTemporal`, and the wrapper turns them into replies.
 *
 * Every route has its carrier's deadline (`Budget`): whatever Temporal does (down, slow, a connection that
 * hangs), `toTemporal` gives up in time for the reply to go out before it. Document carriers then answer with
 * a hold whose URL carries the undelivered events, signed (`carry`), instead of a 503 the carrier would not
 * retry in time.
 */

/** When a webhook must be answered by (ms since the epoch), and when its Temporal work must be over. */
export interface Budget {
  readonly answerBy: number;
  /** Every Temporal RPC's deadline: a little before `answerBy`, so the reply is rendered and sent in time. */
  readonly temporalBy: number;
}

/** What rendering and sending a reply may take after Temporal has been given up on. */
const REPLY_RESERVE_MS = 250;

export function budgetOf(deadlineMs: number, startedAt = Date.now()): Budget {
  return { answerBy: startedAt + deadlineMs, temporalBy: startedAt + Math.max(deadlineMs - REPLY_RESERVE_MS, 0) };
}

/** Signatures cover the exact bytes, so the plugin's routes get bodies unparsed (JSON included). Scoped to it. */
export function rawBodies(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: 1024 * 1024 }, (_req, body, done) => done(null, body));
}

/** The webhook as the adapters read it; `publicBaseUrl` when the carrier signs the URL it called. */
export function incomingWebhook(request: FastifyRequest, publicBaseUrl = ''): IncomingWebhook {
  // One pass, no intermediate arrays: this runs for every webhook.
  const headers: IncomingWebhook['headers'] = {};
  for (const name in request.headers) {
    const value = request.headers[name];
    headers[name.toLowerCase()] = Array.isArray(value) ? value[0] : value;
  }
  return {
    url: publicBaseUrl + request.url,
    headers,
    rawBody: Buffer.isBuffer(request.body) ? request.body : EMPTY_BODY,
  };
}

const EMPTY_BODY = Buffer.alloc(0);

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

/** Temporal did not take the event (unreachable, timed out): the route answers 503, or holds with the events. */
export class NotTaken extends Error {
  constructor(override readonly cause: unknown) {
    super('Temporal did not take the event');
  }
}

/**
 * A call into Temporal (signal, update) under the budget: `send` gets the deadline for its RPCs, and if it has
 * not settled by then (an RPC that does not honour it) it is abandoned. Its failure becomes `NotTaken`.
 */
export async function toTemporal<T>(budget: Budget, send: (deadline: number) => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const sent = send(budget.temporalBy);
  // An abandoned call may still fail later; nobody waits for it (its events travel in the reply instead).
  sent.catch(() => undefined);
  const late = new Promise<never>((_resolve, reject) => {
    const graceMs = Math.max(budget.answerBy - Date.now() - REPLY_RESERVE_MS / 2, 0);
    timer = setTimeout(() => reject(new Error(`no answer from Temporal within the webhook's deadline`)), graceMs);
  });
  try {
    return await Promise.race([sent, late]);
  } catch (err) {
    throw new NotTaken(err);
  } finally {
    clearTimeout(timer);
  }
}

/** Hands every event to its session, in order, under the budget; 503 unless Temporal has them all. */
export function deliverEach<E>(
  budget: Budget,
  events: readonly E[],
  deliver: (event: E, deadline: number) => Promise<Delivery>,
): Promise<Delivery[]> {
  return toTemporal(budget, async (deadline) => {
    const deliveries: Delivery[] = [];
    for (const event of events) deliveries.push(await deliver(event, deadline));
    return deliveries;
  });
}

/**
 * What a hold's URL carries when Temporal did not take a document request: its events, and what else the
 * request told the session (the step it handed back, the redirect it answers), so that the request that comes
 * back to the hold's URL tells the session everything the lost one would have.
 */
export interface Carried {
  /** The undelivered events, oldest first (the session ignores any it already has, by event id). */
  e: CallEvent[];
  /** The call has no session yet: start it from the carried `call.incoming` (an inbound call's first request). */
  s?: 1;
  /** `DocumentRequest.handedBack` of the request that was not taken. */
  h?: string;
  /** `DocumentRequest.redirectedBy` of the request that was not taken. */
  r?: string;
}

/** How long a hold URL that carries events stays valid: the carrier comes back within seconds. */
export const CARRIED_HOLD_TTL_SECONDS = 600;

/**
 * The signed extras of a hold URL carrying `carried`; undefined when it is over the size bound (the route then
 * answers 503: a URL the carrier may refuse to call is no better).
 */
export function carry(carried: Carried): SessionUrlExtras | undefined {
  const encoded = encodeCarried(carried);
  return encoded === undefined ? undefined : { carried: encoded, expiresAt: expiryIn(CARRIED_HOLD_TTL_SECONDS) };
}

/** The payload of a verified URL (its token covers it, so only our own `carry` made it). */
export function carriedOf(encoded: string | undefined): Carried | undefined {
  if (encoded === undefined) return undefined;
  let value: unknown;
  try {
    value = decodeCarried(encoded);
  } catch (err) {
    throw refuse(400, 'malformed webhook', `unreadable carried events: ${(err as Error).message}`);
  }
  const carried = value as Partial<Carried> | null;
  if (!carried || !Array.isArray(carried.e)) throw refuse(400, 'malformed webhook', 'carried events are not a list');
  return carried as Carried;
}

/** The carried events, then the request's own (a request repeats none of them, but the session dedupes anyway). */
export function withCarried(carried: Carried | undefined, events: readonly CallEvent[]): CallEvent[] {
  if (!carried) return [...events];
  const seen = new Set(carried.e.map((e) => e.eventId));
  return [...carried.e, ...events.filter((e) => !seen.has(e.eventId))];
}

/**
 * Names the call's session in every later log line of the request, fastify's `request completed` among them, so
 * one call's lines can be found by its workflow id.
 */
export function logWorkflowId(request: FastifyRequest, reply: FastifyReply, workflowId: string): void {
  request.log = reply.log = request.log.child({ workflowId });
}

/** 200 once Temporal has every event; a late one (its session has ended) is acknowledged and logged. */
export function accepted(reply: FastifyReply, request: FastifyRequest, deliveries: Delivery[]): FastifyReply {
  const [first] = deliveries;
  if (first && deliveries.every((d) => d.workflowId === first.workflowId))
    logWorkflowId(request, reply, first.workflowId);
  for (const d of deliveries) {
    if (d.outcome === 'late')
      request.log.info({ workflowId: d.workflowId }, 'event for a session that has ended; acknowledged');
  }
  return reply.code(200).send({ status: 'accepted', deliveries });
}

export function ignored(reply: FastifyReply, reason = 'event type not used'): FastifyReply {
  return reply.code(200).send({ status: 'ignored', reason });
}

type WebhookHandler = (
  webhook: IncomingWebhook,
  request: FastifyRequest,
  reply: FastifyReply,
  budget: Budget,
) => Promise<FastifyReply>;

/**
 * A webhook route's handler: refusals and Temporal failures become their replies here, once. `deadlineMs` is
 * the carrier's budget for an answer, counted from when the handler starts (the body has arrived).
 */
export function webhookRoute(handle: WebhookHandler, options: { deadlineMs: number; publicBaseUrl?: string }) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    const budget = budgetOf(options.deadlineMs);
    try {
      return await handle(incomingWebhook(request, options.publicBaseUrl ?? ''), request, reply, budget);
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
