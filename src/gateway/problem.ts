import type { FastifyInstance, FastifyReply } from 'fastify';
import { isDialTarget } from '../calls';

/**
 * The one error shape of the REST API (`/calls`, `/faxes`, `/recordings/`, `/metrics`, and any path the gateway
 * does not serve): RFC 9457 problem details, `application/problem+json`:
 *
 * ```json
 * { "type": "urn:durable-calls:problem:invalid-number", "title": "Invalid number", "status": 400,
 *   "detail": "to must be an E.164 number (+15551234567) or a SIP URI", "instance": "/calls",
 *   "code": "invalid-number" }
 * ```
 *
 * `type` is a URN, stable and not meant to be fetched; `code` is its last part, for clients that switch on it.
 * Validation failures add `errors` (the schema's findings). Webhook routes are not covered: their replies go to
 * carriers, which read only the status and log the body, and their `{ error, reason }` is one shape across the
 * three carrier plugins and the simulators that check it.
 */

export const PROBLEM_CONTENT_TYPE = 'application/problem+json; charset=utf-8';

/** Every problem the REST API reports, with its title (the same for every occurrence of the type). */
export const PROBLEMS = {
  'bad-request': 'Bad request',
  'validation-failed': 'Request failed validation',
  unauthorized: 'Unauthorized',
  forbidden: 'Forbidden',
  'not-found': 'Not found',
  'carrier-not-configured': 'Carrier not configured',
  'carrier-cannot-fax': 'Carrier cannot fax',
  'fax-field-unsupported': 'Fax field not supported by this carrier',
  'unknown-flow': 'Unknown flow',
  'invalid-number': 'Invalid number',
  'queue-refused': 'The queue refused the change',
  'call-ended': 'The call has ended',
  'invalid-state': "Not valid in the call's current state",
  'carrier-rule': "Refused by the carrier's rules",
  unsupported: 'Not supported by the carrier',
  'carrier-refused': 'The carrier refused the request',
  'temporal-unavailable': 'Temporal unavailable',
  'internal-error': 'Internal error',
} as const;
export type ProblemCode = keyof typeof PROBLEMS;

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance: string;
  code: ProblemCode;
  [extension: string]: unknown;
}

export const problemType = (code: ProblemCode) => `urn:durable-calls:problem:${code}`;

/** Sends the problem; `extensions` add members (never overriding the standard ones). */
export function sendProblem(
  reply: FastifyReply,
  status: number,
  code: ProblemCode,
  detail: string,
  extensions: Record<string, unknown> = {},
): FastifyReply {
  const problem: Problem = {
    ...extensions,
    type: problemType(code),
    title: PROBLEMS[code],
    status,
    detail,
    instance: reply.request.url.split('?', 1)[0],
    code,
  };
  return reply.code(status).header('content-type', PROBLEM_CONTENT_TYPE).send(JSON.stringify(problem));
}

/** Temporal did not answer a REST request: 503 with retry-after, the cause logged and not shown. */
export function temporalUnavailable(reply: FastifyReply, err: unknown, log: FastifyInstance['log']): FastifyReply {
  log.error({ err }, 'Temporal did not answer a REST request');
  return sendProblem(
    reply.header('retry-after', '1'),
    503,
    'temporal-unavailable',
    'Temporal did not answer; retry later',
  );
}

/** 400 `invalid-number` for the first of `to` / `from` that is neither E.164 nor a SIP URI; undefined when both are. */
export function refuseInvalidNumbers(
  reply: FastifyReply,
  body: { to?: unknown; from?: unknown },
): FastifyReply | undefined {
  for (const field of ['to', 'from'] as const) {
    if (!isDialTarget(body[field])) {
      return sendProblem(reply, 400, 'invalid-number', `${field} must be an E.164 number (+15551234567) or a SIP URI`, {
        field,
      });
    }
  }
  return undefined;
}
