import { randomUUID } from 'node:crypto';
import {
  QueryNotRegisteredError,
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  type Client,
  type Connection,
} from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import {
  CallDirectionKey,
  CallFlowKey,
  CallFromKey,
  CallProviderKey,
  CallStatusKey,
  CallToKey,
  PROVIDERS,
  SEND_FAX_WORKFLOW,
  cancelFaxSignal,
  faxStateQuery,
  faxWorkflowId,
  type FaxState,
  type Provider,
  type SendFaxInput,
} from '../calls';
import { faxCapability } from '../providers/carriers';
import { refuseInvalidNumbers, sendProblem, temporalUnavailable } from './problem';

export interface FaxesApiOptions {
  client: Client;
  connection: Connection;
  taskQueue: string;
  /** Carriers this gateway can send faxes on (those whose adapter faxes). */
  providers: Provider[];
  temporalUiUrl?: string;
  namespace: string;
  rpcTimeoutMs?: number;
}

type SendFaxBody = Omit<SendFaxInput, 'provider' | 'ringTimeoutSeconds'> & {
  provider?: Provider;
  /** Idempotency key: the same requestId always names the same fax. */
  requestId?: string;
};

/**
 * The REST API for faxes we send, each a `sendFaxWorkflow` named `fax:<requestId>`, on any carrier that sends
 * faxes (`provider`, else the first such carrier configured):
 * - `POST /faxes` starts one → 202 `{ workflowId, statusUrl }` (200, `started: false`, for a requestId
 *   already used);
 * - `GET /faxes/:id` → its state (attempts, pages sent so far, the result), 404 if there is none;
 * - `POST /faxes/:id/cancel` → 202 once Temporal has the cancel signal; 404 if no fax of that id runs.
 * `:id` is the workflow id (`fax:...`) or the part after `fax:`.
 */
export async function faxesApi(app: FastifyInstance, options: FaxesApiOptions): Promise<void> {
  const { client, connection } = options;
  const withDeadline = <T>(fn: () => Promise<T>) =>
    connection.withDeadline(Date.now() + (options.rpcTimeoutMs ?? 5000), fn);
  const idOf = (raw: string) => (raw.startsWith('fax:') ? raw : faxWorkflowId(raw));
  const uiLink = (workflowId: string) =>
    options.temporalUiUrl
      ? `${options.temporalUiUrl}/namespaces/${options.namespace}/workflows/${encodeURIComponent(workflowId)}`
      : undefined;

  app.post<{ Body: SendFaxBody }>(
    '/faxes',
    {
      schema: {
        body: {
          type: 'object',
          required: ['to', 'from', 'documentUrl'],
          additionalProperties: false,
          properties: {
            to: { type: 'string', minLength: 1 },
            from: { type: 'string', minLength: 1 },
            documentUrl: { type: 'string', pattern: '^https?://' },
            headerInfo: { type: 'string', maxLength: 200 },
            identity: { type: 'string', maxLength: 50 },
            maxAttempts: { type: 'integer', minimum: 1, maximum: 10 },
            retryDelaySeconds: { type: 'number', minimum: 1, maximum: 86_400 },
            provider: { type: 'string', enum: [...PROVIDERS] },
            requestId: { type: 'string', pattern: '^[A-Za-z0-9._-]{1,64}$' },
          },
        },
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

  app.get<{ Params: { id: string } }>('/faxes/:id', async (request, reply) => {
    const workflowId = idOf(request.params.id);
    let state: FaxState;
    try {
      state = await withDeadline(() => client.workflow.getHandle(workflowId).query(faxStateQuery));
    } catch (err) {
      // A workflow without the fax query is not a fax (only `fax:` ids reach here, but a retry would not help).
      if (err instanceof WorkflowNotFoundError || err instanceof QueryNotRegisteredError)
        return sendProblem(reply, 404, 'not-found', `no fax ${workflowId}`);
      return temporalUnavailable(reply, err, request.log);
    }
    return reply.send({ workflowId, temporalUiUrl: uiLink(workflowId), state });
  });

  app.post<{ Params: { id: string }; Body: { reason?: string } | undefined }>(
    '/faxes/:id/cancel',
    async (request, reply) => {
      const workflowId = idOf(request.params.id);
      const reason = typeof request.body?.reason === 'string' ? request.body.reason : undefined;
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
}
