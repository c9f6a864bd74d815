import { randomUUID } from 'node:crypto';
import {
  QueryNotRegisteredError,
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  type Client,
  type Connection,
} from '@temporalio/client';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import {
  CallDirectionKey,
  CallFlowKey,
  CallFromKey,
  CallProviderKey,
  CallStatusKey,
  CallToKey,
  SEND_FAX_WORKFLOW,
  cancelFaxSignal,
  faxStateQuery,
  faxWorkflowId,
  refreshFaxDocumentUpdate,
  type FaxLiveness,
  type FaxState,
  type FaxStatus,
  type ReceivedFaxState,
  type ReceivedFaxStatus,
  type Provider,
  type SendFaxInput,
} from '../calls';
import { faxCapability } from '../providers/carriers';
import { refuseInvalidNumbers, sendProblem, temporalUnavailable } from './problem';
import { AUTH_PROBLEMS, ProviderSchema, RequestIdSchema, TemporalUiUrlSchema, problems } from './schemas';

export interface FaxesApiOptions {
  client: Client;
  connection: Connection;
  taskQueue: string;
  /** Carriers this gateway can send faxes on (those whose adapter faxes). */
  providers: Provider[];
  temporalUiUrl?: string;
  namespace: string;
  rpcTimeoutMs?: number;
  /** When set (the sessions' `SESSION_LIVENESS_MAX_MS`), how soon a quiet fax is looked up at its carrier. */
  liveness?: FaxLiveness;
}

const SendFaxBody = Type.Object(
  {
    to: Type.String({ minLength: 1, description: 'E.164 number (+15551234567) or SIP URI' }),
    from: Type.String({ minLength: 1, description: 'E.164 number or SIP URI' }),
    documentUrl: Type.String({ pattern: '^https?://', description: 'The PDF the carrier fetches' }),
    headerInfo: Type.Optional(Type.String({ maxLength: 200, description: 'Header line (carriers that support it)' })),
    identity: Type.Optional(Type.String({ maxLength: 50, description: 'Station id (carriers that support it)' })),
    maxAttempts: Type.Optional(Type.Integer({ minimum: 1, maximum: 10 })),
    retryDelaySeconds: Type.Optional(Type.Number({ minimum: 1, maximum: 86_400 })),
    provider: Type.Optional(ProviderSchema),
    requestId: Type.Optional(RequestIdSchema),
  },
  { additionalProperties: false },
);

const FaxStatusSchema = Type.Enum([
  'dialing',
  'ringing',
  'sending',
  'waiting-to-retry',
  'succeeded',
  'failed',
  'cancelled',
  // Received faxes.
  'receiving',
  'received',
] satisfies (FaxStatus | ReceivedFaxStatus)[]);

const StartedFax = Type.Object({
  workflowId: Type.String(),
  started: Type.Boolean({ description: 'false: the requestId named a fax sent before' }),
  statusUrl: Type.String(),
  temporalUiUrl: TemporalUiUrlSchema,
});

/**
 * The fax workflow's `faxState` query: its main fields spelled out, the rest (attempts, result) passed through.
 * A sent fax has the attempt fields; a received one (`direction: receive`) the pages and document instead.
 */
const FaxStateSchema = Type.Object(
  {
    faxId: Type.String(),
    provider: ProviderSchema,
    direction: Type.Optional(Type.Literal('receive', { description: 'Only on received faxes' })),
    to: Type.String(),
    from: Type.String(),
    status: FaxStatusSchema,
    attempt: Type.Optional(Type.Integer({ description: 'Sent: the attempt running now (or the last one)' })),
    maxAttempts: Type.Optional(Type.Integer({ description: 'Sent' })),
    pagesSent: Type.Optional(Type.Integer({ description: 'Sent: pages sent so far in the current attempt' })),
    nextAttemptAt: Type.Optional(Type.String({ description: 'Sent: while waiting to retry' })),
    cancelRequested: Type.Optional(Type.Boolean({ description: 'Sent' })),
    pagesReceived: Type.Optional(Type.Integer({ description: 'Received: pages so far' })),
    documentUrl: Type.Optional(
      Type.String({ description: 'Sent: the document sent; received: where the received one is (renewable)' }),
    ),
  },
  { additionalProperties: true },
);

const FaxIdParams = Type.Object({
  id: Type.String({ description: 'The workflow id (fax:...) or the part after fax:' }),
});

/**
 * The REST API for faxes we send, each a `sendFaxWorkflow` named `fax:<requestId>`, on any carrier that sends
 * faxes (`provider`, else the first such carrier configured):
 * - `POST /faxes` starts one → 202 `{ workflowId, statusUrl }` (200, `started: false`, for a requestId
 *   already used);
 * - `GET /faxes/:id` → its state (attempts, pages sent so far, the result), 404 if there is none;
 * - `POST /faxes/:id/cancel` → 202 once Temporal has the cancel signal; 404 if no fax of that id runs;
 * - `POST /faxes/:id/actions/refresh` → a received fax's document URL renewed at the carrier (Telnyx signs it
 *   for minutes), while its workflow keeps it refreshable.
 * Received faxes (`receiveFaxWorkflow`, `fax:telnyx:in:<fax id>`, started by their webhooks) show on the same
 * `GET /faxes/:id`. `:id` is the workflow id (`fax:...`) or the part after `fax:`.
 */
export async function faxesApi(parent: FastifyInstance, options: FaxesApiOptions): Promise<void> {
  const app = parent.withTypeProvider<TypeBoxTypeProvider>();
  const { client, connection } = options;
  const withDeadline = <T>(fn: () => Promise<T>) =>
    connection.withDeadline(Date.now() + (options.rpcTimeoutMs ?? 5000), fn);
  const idOf = (raw: string) => (raw.startsWith('fax:') ? raw : faxWorkflowId(raw));
  const uiLink = (workflowId: string) =>
    options.temporalUiUrl
      ? `${options.temporalUiUrl}/namespaces/${options.namespace}/workflows/${encodeURIComponent(workflowId)}`
      : undefined;

  app.post(
    '/faxes',
    {
      schema: {
        summary: 'Send a fax',
        description: '202 when the fax workflow started; 200 (started: false) for a requestId used before.',
        tags: ['faxes'],
        body: SendFaxBody,
        response: { 200: StartedFax, 202: StartedFax, ...problems(400, ...AUTH_PROBLEMS, 503) },
      },
    },
    async (request, reply) => {
      const body = request.body;
      const provider = body.provider ?? options.providers[0];
      if (!provider || !options.providers.includes(provider)) {
        return sendProblem(
          reply,
          400,
          'carrier-cannot-fax',
          `${body.provider ?? 'no fax carrier'} is not configured for faxes on this gateway`,
          { configured: options.providers },
        );
      }
      // Refused here, before a workflow starts, rather than as a failed first attempt.
      const capability = faxCapability(provider);
      for (const field of ['headerInfo', 'identity'] as const) {
        if (body[field] && !capability?.[field]) {
          return sendProblem(reply, 400, 'fax-field-unsupported', `${provider} faxes cannot carry ${field}`, {
            field,
          });
        }
      }
      const badNumber = refuseInvalidNumbers(reply, body);
      if (badNumber) return badNumber;
      const workflowId = faxWorkflowId(body.requestId ?? randomUUID());
      const input: SendFaxInput = {
        provider,
        to: body.to,
        from: body.from,
        documentUrl: body.documentUrl,
        ...(body.headerInfo ? { headerInfo: body.headerInfo } : {}),
        ...(body.identity ? { identity: body.identity } : {}),
        ...(body.maxAttempts ? { maxAttempts: body.maxAttempts } : {}),
        ...(body.retryDelaySeconds ? { retryDelaySeconds: body.retryDelaySeconds } : {}),
        ...(options.liveness ? { liveness: options.liveness } : {}),
      };
      let started = true;
      try {
        await withDeadline(() =>
          client.workflow.start(SEND_FAX_WORKFLOW, {
            workflowId,
            taskQueue: options.taskQueue,
            args: [input],
            // A fax id names one fax for good: never a second one after the first finished.
            workflowIdReusePolicy: 'REJECT_DUPLICATE',
            staticSummary: `Fax ${provider} ${body.from} → ${body.to}`,
            typedSearchAttributes: [
              { key: CallProviderKey, value: provider },
              { key: CallStatusKey, value: 'dialing' },
              { key: CallDirectionKey, value: 'outbound' },
              { key: CallFlowKey, value: 'sendFax' },
              { key: CallFromKey, value: body.from },
              { key: CallToKey, value: body.to },
            ],
          }),
        );
      } catch (err) {
        if (!(err instanceof WorkflowExecutionAlreadyStartedError)) return temporalUnavailable(reply, err, request.log);
        started = false;
      }
      return reply.code(started ? 202 : 200).send({
        workflowId,
        started,
        statusUrl: `/faxes/${encodeURIComponent(workflowId)}`,
        temporalUiUrl: uiLink(workflowId),
      });
    },
  );

  app.get(
    '/faxes/:id',
    {
      schema: {
        summary: "A fax's state",
        tags: ['faxes'],
        params: FaxIdParams,
        response: {
          200: Type.Object({ workflowId: Type.String(), temporalUiUrl: TemporalUiUrlSchema, state: FaxStateSchema }),
          ...problems(...AUTH_PROBLEMS, 404, 503),
        },
      },
    },
    async (request, reply) => {
      const workflowId = idOf(request.params.id);
      let state: FaxState | ReceivedFaxState;
      try {
        state = await withDeadline(() => client.workflow.getHandle(workflowId).query(faxStateQuery));
      } catch (err) {
        // A workflow without the fax query is not a fax (only `fax:` ids reach here, but a retry would not help).
        if (err instanceof WorkflowNotFoundError || err instanceof QueryNotRegisteredError)
          return sendProblem(reply, 404, 'not-found', `no fax ${workflowId}`);
        return temporalUnavailable(reply, err, request.log);
      }
      return reply.send({ workflowId, temporalUiUrl: uiLink(workflowId), state });
    },
  );

  app.post(
    '/faxes/:id/cancel',
    {
      // No body schema: the body is optional, and fastify would refuse a request without one.
      schema: {
        summary: 'Cancel a fax',
        description: 'Optional JSON body `{ "reason": "..." }`. 202 once Temporal has the cancel signal.',
        tags: ['faxes'],
        params: FaxIdParams,
        response: {
          202: Type.Object({ workflowId: Type.String(), cancelRequested: Type.Boolean() }),
          ...problems(...AUTH_PROBLEMS, 404, 503),
        },
      },
    },
    async (request, reply) => {
      const workflowId = idOf(request.params.id);
      const body = request.body as { reason?: unknown } | undefined;
      const reason = typeof body?.reason === 'string' ? body.reason : undefined;
      try {
        await withDeadline(() =>
          client.workflow.getHandle(workflowId).signal(cancelFaxSignal, reason ? { reason } : {}),
        );
      } catch (err) {
        if (err instanceof WorkflowNotFoundError)
          return sendProblem(reply, 404, 'not-found', `no running fax ${workflowId}`);
        return temporalUnavailable(reply, err, request.log);
      }
      return reply.code(202).send({ workflowId, cancelRequested: true });
    },
  );

  app.post(
    '/faxes/:id/actions/refresh',
    {
      schema: {
        summary: "Renew a received fax's document URL",
        description:
          "Telnyx signs a received fax's `media_url` for minutes: this asks Telnyx for a new one " +
          '(`POST /faxes/{id}/actions/refresh`) and answers it. 409 for a fax with no received document.',
        tags: ['faxes'],
        params: FaxIdParams,
        response: {
          200: Type.Object({ workflowId: Type.String(), documentUrl: Type.Optional(Type.String()) }),
          ...problems(...AUTH_PROBLEMS, 404, 409, 503),
        },
      },
    },
    async (request, reply) => {
      const workflowId = idOf(request.params.id);
      try {
        const { documentUrl } = await withDeadline(() =>
          client.workflow.getHandle(workflowId).executeUpdate(refreshFaxDocumentUpdate),
        );
        return reply.send({ workflowId, ...(documentUrl ? { documentUrl } : {}) });
      } catch (err) {
        if (err instanceof WorkflowNotFoundError)
          return sendProblem(reply, 404, 'not-found', `no received fax ${workflowId} open for refreshing`);
        // Refused by the workflow (not received yet, failed) or not a received fax at all (no such update).
        if (err instanceof WorkflowUpdateFailedError)
          return sendProblem(reply, 409, 'invalid-state', (err.cause ?? err).message);
        return temporalUnavailable(reply, err, request.log);
      }
    },
  );
}
