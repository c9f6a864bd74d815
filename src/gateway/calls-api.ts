import { randomUUID } from 'node:crypto';
import { QueryNotRegisteredError } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { outboundCallWorkflowId, providerOfWorkflowId, PROVIDERS, type Provider, type SessionDefaults } from '../calls';
import { documentOpsOf } from '../providers/carriers';
import { refuseInvalidNumbers, sendProblem, temporalUnavailable } from './problem';
import type { Sessions } from './sessions';
import { logWorkflowId } from './webhooks/pipeline';

export interface CallsApiOptions {
  sessions: Sessions;
  /** Carriers this gateway can place calls on. */
  providers: Provider[];
  /** Flows `POST /calls` may name. */
  flows: string[];
  /** Base URL of the Temporal Web UI, for links in responses. */
  temporalUiUrl?: string;
  namespace: string;
  /** Spread into every session this gateway starts. */
  sessionDefaults: SessionDefaults;
}

interface PlaceCallBody {
  to: string;
  from: string;
  provider?: Provider;
  flow?: string;
  args?: Record<string, string | number | boolean>;
  /** Idempotency key: the same requestId always names the same call. */
  requestId?: string;
}

/** The REST API: place a call, read a call's state. */
export async function callsApi(app: FastifyInstance, options: CallsApiOptions): Promise<void> {
  const { sessions } = options;
  const uiLink = (workflowId: string) =>
    options.temporalUiUrl
      ? `${options.temporalUiUrl}/namespaces/${options.namespace}/workflows/${encodeURIComponent(workflowId)}`
      : undefined;

  app.get<{ Params: { id: string } }>('/calls/:id', async (request, reply) => {
    const workflowId = request.params.id;
    logWorkflowId(request, reply, workflowId);
    const notFound = (detail: string) => sendProblem(reply, 404, 'not-found', detail);
    // Only call sessions answer the `state` query: asking a fax or a queue would only fail inside Temporal.
    if (!providerOfWorkflowId(workflowId)) {
      return notFound(
        workflowId.startsWith('fax:')
          ? `${workflowId} is a fax: see GET /faxes/${encodeURIComponent(workflowId)}`
          : `${workflowId} is not a call session id (call:<carrier>:...)`,
      );
    }
    try {
      const state = await sessions.state(workflowId);
      if (!state) return notFound(`no call session ${workflowId}`);
      return reply.send({ workflowId, temporalUiUrl: uiLink(workflowId), state });
    } catch (err) {
      // A workflow under a call id that has no `state` query is not a call session: nothing to retry.
      if (err instanceof QueryNotRegisteredError) return notFound(`${workflowId} is not a call session`);
      return temporalUnavailable(reply, err, request.log);
    }
  });

  app.post<{ Body: PlaceCallBody }>(
    '/calls',
    {
      schema: {
        body: {
          type: 'object',
          required: ['to', 'from'],
          additionalProperties: false,
          properties: {
            to: { type: 'string', minLength: 1 },
            from: { type: 'string', minLength: 1 },
            provider: { type: 'string', enum: [...PROVIDERS] },
            flow: { type: 'string', minLength: 1 },
            args: {
              type: 'object',
              additionalProperties: { anyOf: [{ type: 'string' }, { type: 'number' }, { type: 'boolean' }] },
            },
            requestId: { type: 'string', pattern: '^[A-Za-z0-9._-]{1,64}$' },
          },
        },
      },
    },
    async (request, reply) => {
      const body = request.body;
      const provider = body.provider ?? options.providers[0];
      const flow = body.flow ?? 'outboundNotice';
      if (!provider || !options.providers.includes(provider)) {
        return sendProblem(
          reply,
          400,
          'carrier-not-configured',
          `${body.provider ?? 'no carrier'} is not configured on this gateway`,
          { configured: options.providers },
        );
      }
      if (!options.flows.includes(flow)) {
        return sendProblem(reply, 400, 'unknown-flow', `"${flow}" is not one of ${options.flows.join(', ')}`, {
          flows: options.flows,
        });
      }
      const badNumber = refuseInvalidNumbers(reply, body);
      if (badNumber) return badNumber;
      const workflowId = outboundCallWorkflowId(provider, body.requestId ?? randomUUID());
      try {
        const { started } = await sessions.start(workflowId, {
          provider,
          direction: 'outbound',
          flow,
          flowArgs: body.args,
          from: body.from,
          to: body.to,
          ...documentOpsInput(provider),
          ...options.sessionDefaults,
        });
        return reply.code(started ? 202 : 200).send({
          workflowId,
          started,
          statusUrl: `/calls/${encodeURIComponent(workflowId)}`,
          temporalUiUrl: uiLink(workflowId),
        });
      } catch (err) {
        return temporalUnavailable(reply, err, request.log);
      }
    },
  );
}

/** Document carriers' sessions name the operations that travel as documents; command carriers' need nothing. */
function documentOpsInput(provider: Provider): { documentOps?: ReturnType<typeof documentOpsOf> } {
  const ops = documentOpsOf(provider);
  return ops.length > 0 ? { documentOps: ops } : {};
}
