import { randomUUID } from 'node:crypto';
import { QueryNotRegisteredError, type Client, type Connection } from '@temporalio/client';
import { decodeTypedSearchAttributes } from '@temporalio/common/lib/converter/payload-search-attributes';
import { optionalTsToMs } from '@temporalio/common/lib/time';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import {
  CALL_SESSION_WORKFLOW,
  CallDirectionKey,
  CallFlowKey,
  CallFromKey,
  CallProviderKey,
  CallStatus,
  CallStatusKey,
  CallToKey,
  outboundCallWorkflowId,
  providerOfWorkflowId,
  type Provider,
  type SessionDefaults,
} from '../calls';
import { documentOpsOf } from '../providers/carriers';
import { refuseInvalidNumbers, sendProblem, temporalUnavailable } from './problem';
import { AUTH_PROBLEMS, ProviderSchema, RequestIdSchema, TemporalUiUrlSchema, problems } from './schemas';
import type { Sessions } from './sessions';
import { logWorkflowId } from './webhooks/pipeline';

export interface CallsApiOptions {
  sessions: Sessions;
  /** For listing sessions from Temporal's visibility store. */
  client: Client;
  connection: Connection;
  /** Carriers this gateway can place calls on. */
  providers: Provider[];
  /** Flows `POST /calls` may name. */
  flows: string[];
  /** Base URL of the Temporal Web UI, for links in responses. */
  temporalUiUrl?: string;
  namespace: string;
  /** Spread into every session this gateway starts. */
  sessionDefaults: SessionDefaults;
  rpcTimeoutMs?: number;
}

const CallStatusSchema = Type.Enum(Object.values(CallStatus), { description: 'Where the call is' });
const DirectionSchema = Type.Enum(['inbound', 'outbound'] as const);

const PlaceCallBody = Type.Object(
  {
    to: Type.String({ minLength: 1, description: 'E.164 number (+15551234567) or SIP URI' }),
    from: Type.String({ minLength: 1, description: 'E.164 number or SIP URI' }),
    provider: Type.Optional(ProviderSchema),
    flow: Type.Optional(Type.String({ minLength: 1, description: 'A flow the worker runs (default outboundNotice)' })),
    args: Type.Optional(
      Type.Record(Type.String(), Type.Union([Type.String(), Type.Number(), Type.Boolean()]), {
        description: "The flow's arguments",
      }),
    ),
    requestId: Type.Optional(RequestIdSchema),
  },
  { additionalProperties: false },
);

const PlacedCall = Type.Object({
  workflowId: Type.String(),
  started: Type.Boolean({ description: 'false: the requestId named a call placed before' }),
  statusUrl: Type.String(),
  temporalUiUrl: TemporalUiUrlSchema,
});

/**
 * The session's `state` query. Its main fields are spelled out; the rest (legs, operations, events, ...) is
 * passed through as the session reports it.
 */
const CallStateSchema = Type.Object(
  {
    workflowId: Type.String(),
    provider: ProviderSchema,
    direction: Type.Optional(DirectionSchema),
    flow: Type.Optional(Type.String()),
    from: Type.Optional(Type.String()),
    to: Type.Optional(Type.String()),
    status: CallStatusSchema,
    callId: Type.Optional(Type.String({ description: "The carrier's id of the primary leg" })),
    startedAt: Type.Optional(Type.String()),
    answeredAt: Type.Optional(Type.String()),
    endedAt: Type.Optional(Type.String()),
    endCause: Type.Optional(Type.String()),
    currentOperation: Type.Optional(Type.String()),
    digits: Type.Optional(Type.String({ description: 'Every digit heard, in order' })),
  },
  { additionalProperties: true },
);

const CallResponse = Type.Object({
  workflowId: Type.String(),
  temporalUiUrl: TemporalUiUrlSchema,
  state: CallStateSchema,
});

/** Page size bounds of `GET /calls`. */
export const CALL_LIST_LIMIT = { default: 50, max: 500 } as const;

const ListCallsQuery = Type.Object({
  status: Type.Optional(
    Type.Enum(['running', 'closed', 'all'] as const, {
      default: 'running',
      description: 'Running sessions, closed ones, or both',
    }),
  ),
  provider: Type.Optional(ProviderSchema),
  queue: Type.Optional(
    Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$', description: 'Calls in this queue' }),
  ),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: CALL_LIST_LIMIT.max, default: CALL_LIST_LIMIT.default })),
  pageToken: Type.Optional(Type.String({ minLength: 1, description: 'nextPageToken of the previous page' })),
});

const CallSummary = Type.Object({
  workflowId: Type.String(),
  provider: Type.Optional(Type.String()),
  status: Type.Optional(Type.String({ description: "The session's last reported status (search attribute)" })),
  direction: Type.Optional(Type.String()),
  flow: Type.Optional(Type.String()),
  from: Type.Optional(Type.String()),
  to: Type.Optional(Type.String()),
  startedAt: Type.String({ format: 'date-time' }),
  closedAt: Type.Optional(Type.String({ format: 'date-time', description: 'Set once the session has ended' })),
});

const CallList = Type.Object({
  calls: Type.Array(CallSummary),
  nextPageToken: Type.Optional(Type.String({ description: 'Pass as pageToken for the next page; absent on the last' })),
});

/** Temporal's list filter for `GET /calls`. Values come from enums or a pattern with no quotes, so no escaping. */
export function callListQuery(filter: { status?: 'running' | 'closed' | 'all'; provider?: string; queue?: string }) {
  const clauses = [`WorkflowType = '${CALL_SESSION_WORKFLOW}'`];
  if ((filter.status ?? 'running') === 'running') clauses.push(`ExecutionStatus = 'Running'`);
  if (filter.status === 'closed') clauses.push(`ExecutionStatus != 'Running'`);
  if (filter.provider) clauses.push(`CallProvider = '${filter.provider}'`);
  if (filter.queue) clauses.push(`CallQueue = '${filter.queue}'`);
  return clauses.join(' AND ');
}

/** The REST API: place a call, list call sessions, read a call's state. */
export async function callsApi(parent: FastifyInstance, options: CallsApiOptions): Promise<void> {
  const app = parent.withTypeProvider<TypeBoxTypeProvider>();
  const { sessions, client, connection } = options;
  const withDeadline = <T>(fn: () => Promise<T>) =>
    connection.withDeadline(Date.now() + (options.rpcTimeoutMs ?? 5000), fn);
  const uiLink = (workflowId: string) =>
    options.temporalUiUrl
      ? `${options.temporalUiUrl}/namespaces/${options.namespace}/workflows/${encodeURIComponent(workflowId)}`
      : undefined;

  app.get(
    '/calls',
    {
      schema: {
        summary: 'List call sessions',
        description:
          "From Temporal's visibility store (eventually consistent: a call placed a moment ago may be missing).",
        tags: ['calls'],
        querystring: ListCallsQuery,
        response: { 200: CallList, ...problems(400, ...AUTH_PROBLEMS, 503) },
      },
    },
    async (request, reply) => {
      const { limit, pageToken } = request.query;
      let page;
      try {
        page = await withDeadline(() =>
          client.workflowService.listWorkflowExecutions({
            namespace: options.namespace,
            query: callListQuery(request.query),
            pageSize: limit ?? CALL_LIST_LIMIT.default,
            nextPageToken: pageToken ? Buffer.from(pageToken, 'base64url') : undefined,
          }),
        );
      } catch (err) {
        return temporalUnavailable(reply, err, request.log);
      }
      const calls = page.executions.map((execution) => {
        const attributes = decodeTypedSearchAttributes(execution.searchAttributes?.indexedFields);
        const closedAt = optionalTsToMs(execution.closeTime);
        return {
          workflowId: execution.execution?.workflowId ?? '',
          provider: attributes.get(CallProviderKey),
          status: attributes.get(CallStatusKey),
          direction: attributes.get(CallDirectionKey),
          flow: attributes.get(CallFlowKey),
          from: attributes.get(CallFromKey),
          to: attributes.get(CallToKey),
          startedAt: new Date(optionalTsToMs(execution.startTime) ?? 0).toISOString(),
          ...(closedAt === undefined ? {} : { closedAt: new Date(closedAt).toISOString() }),
        };
      });
      const next = page.nextPageToken?.length ? Buffer.from(page.nextPageToken).toString('base64url') : undefined;
      return reply.send({ calls, ...(next ? { nextPageToken: next } : {}) });
    },
  );

  app.get(
    '/calls/:id',
    {
      schema: {
        summary: "A call session's state",
        tags: ['calls'],
        params: Type.Object({ id: Type.String({ description: 'The workflow id, call:<carrier>:...' }) }),
        response: { 200: CallResponse, ...problems(...AUTH_PROBLEMS, 404, 503) },
      },
    },
    async (request, reply) => {
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
    },
  );

  app.post(
    '/calls',
    {
      schema: {
        summary: 'Place a call',
        description: '202 when the session started; 200 (started: false) for a requestId used before.',
        tags: ['calls'],
        body: PlaceCallBody,
        response: { 200: PlacedCall, 202: PlacedCall, ...problems(400, ...AUTH_PROBLEMS, 503) },
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
