import { randomUUID } from 'node:crypto';
import {
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  type Client,
  type Connection,
  ApplicationFailure,
} from '@temporalio/client';
import type { FastifyInstance, FastifyReply } from 'fastify';
import {
  CONTROL_ACTIONS,
  CONTROL_REFUSED,
  ErrorType,
  WARM_TRANSFER_STEPS,
  isTransferControl,
  controlUpdate,
  providerOfWorkflowId,
  type ControlAction,
  type ControlRefusal,
  type ControlRequest,
} from '../calls';
import { CARRIER_CONTROLS } from '../providers/ops';
import { sendProblem, temporalUnavailable, type ProblemCode } from './problem';

/**
 * Live control of a running call: `POST /calls/:id/actions/:action`, one route per action with its own body
 * schema. Each control is a `control` update on the call's session, which refuses it (its validator) when the
 * call's state or the carrier's rules do not allow it, before anything reaches the carrier. Answers
 * `200 { workflowId, action, result }`, or a problem: 404 no such call, 409 call ended or not valid in its state,
 * 422 a carrier's rule or an operation the carrier does not support, 502 the carrier refused, 503 Temporal.
 */

export interface ControlsApiOptions {
  client: Client;
  connection: Connection;
  /** Flows a redirect may name. */
  flows: string[];
}

/** Every body may name the request: the same `requestId` is the same control, carried out once. */
const REQUEST_ID = { type: 'string', pattern: '^[A-Za-z0-9._-]{1,64}$' } as const;

/** The supervisor's number (E.164) or SIP URI. */
const SUPERVISOR_ADDRESS = { type: 'string', pattern: '^(\\+[1-9][0-9]{1,14}|sips?:\\S+@\\S+)$' } as const;

/** An action's body; one without required fields may be left out (fastify validates a missing body as null). */
const objectSchema = (properties: Record<string, unknown> = {}, required: string[] = []) => ({
  type: required.length > 0 ? 'object' : ['object', 'null'],
  additionalProperties: false,
  required,
  properties: { ...properties, requestId: REQUEST_ID },
});

/** A transfer's party: an E.164 number or a SIP URI (what every carrier dials). */
const PARTY = { type: 'string', pattern: '^(\\+[1-9][0-9]{1,14}|sips?:\\S+)$' } as const;
/** How long a transfer's new party rings; the control waits for its answer. */
const RING_SECONDS = { type: 'integer', minimum: 5, maximum: 45 } as const;

/** The JSON schema of each action's body (all optional for actions without fields: `{}` or no body). */
export const CONTROL_BODY_SCHEMAS: Record<ControlAction, object> = {
  hangup: objectSchema(),
  redirect: objectSchema(
    {
      flow: { type: 'string', minLength: 1 },
      args: {
        type: 'object',
        additionalProperties: { anyOf: [{ type: 'string' }, { type: 'number' }, { type: 'boolean' }] },
      },
    },
    ['flow'],
  ),
  play: objectSchema({ url: { type: 'string', pattern: '^https?://\\S+$' } }, ['url']),
  say: objectSchema(
    {
      text: { type: 'string', minLength: 1, maxLength: 3000 },
      voice: { type: 'string', minLength: 1 },
      language: { type: 'string', minLength: 2 },
    },
    ['text'],
  ),
  'send-dtmf': objectSchema({ digits: { type: 'string', pattern: '^[0-9*#A-Da-dwW]{1,64}$' } }, ['digits']),
  'record-pause': objectSchema(),
  'record-resume': objectSchema(),
  mute: objectSchema(),
  unmute: objectSchema(),
  hold: objectSchema(),
  unhold: objectSchema(),
  // Transfers of a bridged call (src/calls/transfer.ts).
  transfer: objectSchema({ to: PARTY, from: PARTY, timeoutSeconds: RING_SECONDS }, ['to']),
  'warm-transfer': {
    ...objectSchema(
      {
        step: { type: 'string', enum: [...WARM_TRANSFER_STEPS] },
        to: PARTY,
        from: PARTY,
        timeoutSeconds: RING_SECONDS,
        holdMusicUrl: { type: 'string', pattern: '^https?://\\S+$' },
      },
      ['step'],
    ),
    // A consult names the party to consult.
    if: { properties: { step: { const: 'consult' } } },
    then: { required: ['to'] },
  },
  // supervisor controls: `to` dials a supervisor in the role; without it the supervisor on the call switches role.
  monitor: objectSchema({ to: SUPERVISOR_ADDRESS }),
  whisper: objectSchema({ to: SUPERVISOR_ADDRESS }),
  barge: objectSchema({ to: SUPERVISOR_ADDRESS }),
};

/** How long a control may take in Temporal (a hangup waits up to 10 s for the carrier's report). */
const CONTROL_DEADLINE_MS = 20_000;
/** A transfer waits for the new party to answer (up to `RING_SECONDS`) and for the bridge. */
const TRANSFER_DEADLINE_MS = 75_000;

type ControlBody = Record<string, unknown> & { requestId?: string };

/** How a refusal or failure of the update reads as a problem. */
function problemOf(failure: ApplicationFailure): { status: number; code: ProblemCode } {
  if (failure.type === CONTROL_REFUSED) {
    const refusal = failure.details?.[0] as ControlRefusal | undefined;
    switch (refusal?.kind) {
      case 'call-ended':
        return { status: 409, code: 'call-ended' };
      case 'carrier-rule':
        return { status: 422, code: 'carrier-rule' };
      case 'unsupported':
        return { status: 422, code: 'unsupported' };
      default:
        return { status: 409, code: 'invalid-state' };
    }
  }
  switch (failure.type) {
    case ErrorType.Unsupported:
      return { status: 422, code: 'unsupported' };
    case ErrorType.InvalidCommand:
      return { status: 422, code: 'carrier-rule' };
    case ErrorType.CallGone:
      return { status: 409, code: 'call-ended' };
    default:
      return { status: 502, code: 'carrier-refused' };
  }
}

export async function controlsApi(app: FastifyInstance, options: ControlsApiOptions): Promise<void> {
  const { client, connection } = options;

  /**
   * The update did not reach a running session: the call ended (409, Temporal refuses updates to a closed
   * workflow), never existed (404), or Temporal itself failed (503).
   */
  const unreachable = async (reply: FastifyReply, workflowId: string, cause: unknown): Promise<FastifyReply> => {
    try {
      const described = await connection.withDeadline(Date.now() + 5000, () =>
        client.workflow.getHandle(workflowId).describe(),
      );
      if (described.status.name !== 'RUNNING')
        return sendProblem(reply, 409, 'call-ended', `the call has ended (its session is ${described.status.name})`);
    } catch (err) {
      if (err instanceof WorkflowNotFoundError)
        return sendProblem(reply, 404, 'not-found', `no call session ${workflowId}`);
      return temporalUnavailable(reply, err, app.log);
    }
    return temporalUnavailable(reply, cause, app.log);
  };

  for (const action of CONTROL_ACTIONS) {
    app.post<{ Params: { id: string }; Body: ControlBody | null }>(
      `/calls/:id/actions/${action}`,
      { schema: { body: CONTROL_BODY_SCHEMAS[action] } },
      async (request, reply) => {
        const workflowId = request.params.id;
        const carrier = providerOfWorkflowId(workflowId);
        if (!carrier) return sendProblem(reply, 404, 'not-found', `${workflowId} is not a call session id`);
        const { requestId, ...fields } = request.body ?? {};
        const control = { action, ...fields } as ControlRequest;
        if (control.action === 'redirect' && !options.flows.includes(control.flow)) {
          return sendProblem(
            reply,
            400,
            'unknown-flow',
            `"${control.flow}" is not one of ${options.flows.join(', ')}`,
            {
              flows: options.flows,
            },
          );
        }
        try {
          const deadlineMs = isTransferControl(control) ? TRANSFER_DEADLINE_MS : CONTROL_DEADLINE_MS;
          const result = await connection.withDeadline(Date.now() + deadlineMs, () =>
            client.workflow.getHandle(workflowId).executeUpdate(controlUpdate, {
              args: [{ request: control, carrier, route: CARRIER_CONTROLS[carrier][action] }],
              updateId: `control:${action}:${requestId ?? randomUUID()}`,
            }),
          );
          return reply.send({ workflowId, action, result });
        } catch (err) {
          if (err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure) {
            const { status, code } = problemOf(err.cause);
            return sendProblem(reply, status, code, err.cause.message, { carrier, action });
          }
          return unreachable(reply, workflowId, err);
        }
      },
    );
  }
}
