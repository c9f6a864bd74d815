import {
  WithStartWorkflowOperation,
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  type Client,
  type Connection,
} from '@temporalio/client';
import {
  CALL_SESSION_WORKFLOW,
  CallDirectionKey,
  CallFlowKey,
  CallFromKey,
  CallProviderKey,
  CallStatusKey,
  CallToKey,
  callEventSignal,
  nextDocumentUpdate,
  stateQuery,
  type CallEvent,
  type DocumentReply,
  type DocumentRequest,
  type CallSessionInput,
  type CallState,
  RECEIVE_FAX_WORKFLOW,
  receivedFaxWorkflowId,
  type ReceiveFaxInput,
} from '../calls';

/**
 * How the gateway hands events to call sessions. Every method resolves only once Temporal has durably
 * accepted the event (or said why it will not), so a webhook is never acknowledged before that.
 */

export type Delivery =
  /** Temporal has the event. */
  | { outcome: 'delivered'; workflowId: string; started: boolean }
  /** The session has already ended (or never existed): a late or stray event, acknowledged and dropped. */
  | { outcome: 'late'; workflowId: string };

export interface SessionsOptions {
  client: Client;
  connection: Connection;
  taskQueue: string;
  /** Per-call deadline for Temporal RPCs, so an unreachable server fails fast (→ 503) instead of hanging. */
  rpcTimeoutMs?: number;
  /**
   * The sessions' workflow task timeout (`SESSION_TASK_TIMEOUT_MS`). A task held by a worker that was killed
   * is retried on another worker only once it times out, and the caller hears silence until then: the SDK's
   * 10 s default (plus Temporal's retry backoff) is 10 to 40 s of dead air. Our tasks take milliseconds and a
   * replay of a 4K-event history well under a second, so 2 s costs a caller at most ~2-3 s and never cuts off
   * a healthy task.
   */
  workflowTaskTimeoutMs?: number;
}

/** See `SessionsOptions.workflowTaskTimeoutMs`. */
export const DEFAULT_SESSION_TASK_TIMEOUT_MS = 2000;

/** An absolute time (ms since the epoch) every Temporal RPC of one webhook must be done by. */
export interface RpcDeadline {
  deadline?: number;
}

export function describeCall(input: Pick<CallSessionInput, 'provider' | 'direction' | 'from' | 'to' | 'flow'>): string {
  return `${input.direction === 'inbound' ? 'Inbound' : 'Outbound'} ${input.provider} call ${input.from} → ${input.to} · ${input.flow}`;
}

export function createSessions(options: SessionsOptions) {
  const { client, connection, taskQueue } = options;
  // The webhook's own deadline, when it has one, bounds every RPC: the carrier must get its answer in time.
  const withDeadline = <T>(fn: () => Promise<T>, deadline = Infinity) =>
    connection.withDeadline(Math.min(Date.now() + (options.rpcTimeoutMs ?? 5000), deadline), fn);

  const startOptions = (workflowId: string, input: CallSessionInput) => ({
    workflowId,
    taskQueue,
    args: [input] as [CallSessionInput],
    // A closed session must never be started again by a late or replayed webhook.
    workflowIdReusePolicy: 'REJECT_DUPLICATE' as const,
    workflowTaskTimeout: options.workflowTaskTimeoutMs ?? DEFAULT_SESSION_TASK_TIMEOUT_MS,
    staticSummary: describeCall(input),
    typedSearchAttributes: [
      { key: CallProviderKey, value: input.provider },
      { key: CallStatusKey, value: input.direction === 'inbound' ? 'ringing' : 'dialing' },
      { key: CallDirectionKey, value: input.direction },
      { key: CallFlowKey, value: input.flow },
      { key: CallFromKey, value: input.from },
      { key: CallToKey, value: input.to },
    ],
  });

  return {
    /** The first event of an inbound call: starts the session, or signals the one already running. */
    async signalWithStart(
      workflowId: string,
      input: CallSessionInput,
      event: CallEvent,
      { deadline }: RpcDeadline = {},
    ): Promise<Delivery> {
      try {
        await withDeadline(
          () =>
            client.workflow.signalWithStart(CALL_SESSION_WORKFLOW, {
              ...startOptions(workflowId, input),
              signal: callEventSignal,
              signalArgs: [event],
            }),
          deadline,
        );
        return { outcome: 'delivered', workflowId, started: true };
      } catch (err) {
        if (err instanceof WorkflowExecutionAlreadyStartedError) return { outcome: 'late', workflowId };
        throw err;
      }
    },

    /**
     * An event of a fax received on a carrier's fax API (Telnyx): starts its receive-fax workflow, or signals
     * the one already running. Any of the fax's webhooks may come first.
     */
    async receivedFax(input: ReceiveFaxInput, event: CallEvent, { deadline }: RpcDeadline = {}): Promise<Delivery> {
      const workflowId = receivedFaxWorkflowId(input.provider, input.carrierFaxId);
      try {
        await withDeadline(
          () =>
            client.workflow.signalWithStart(RECEIVE_FAX_WORKFLOW, {
              workflowId,
              taskQueue,
              args: [input],
              workflowIdReusePolicy: 'REJECT_DUPLICATE',
              staticSummary: `Fax received on ${input.provider} ${input.from} → ${input.to}`,
              typedSearchAttributes: [
                { key: CallProviderKey, value: input.provider },
                { key: CallStatusKey, value: 'receiving' },
                { key: CallDirectionKey, value: 'inbound' },
                { key: CallFlowKey, value: 'receiveFax' },
                { key: CallFromKey, value: input.from },
                { key: CallToKey, value: input.to },
              ],
              signal: callEventSignal,
              signalArgs: [event],
            }),
          deadline,
        );
        return { outcome: 'delivered', workflowId, started: true };
      } catch (err) {
        if (err instanceof WorkflowExecutionAlreadyStartedError) return { outcome: 'late', workflowId };
        throw err;
      }
    },

    /** Any later event: signals the running session; a closed or unknown one means the event is late. */
    async signal(workflowId: string, event: CallEvent, { deadline }: RpcDeadline = {}): Promise<Delivery> {
      try {
        await withDeadline(() => client.workflow.getHandle(workflowId).signal(callEventSignal, event), deadline);
        return { outcome: 'delivered', workflowId, started: false };
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) return { outcome: 'late', workflowId };
        throw err;
      }
    },

    /**
     * A document carrier's request for the call's next instructions (SWML fetch, jambonz hook). The events
     * it carries reach Temporal durably whatever happens: if the session does not answer within
     * `request.waitMs` (no worker, a slow worker, a restart), they are signalled and the reply is `hold`,
     * so the gateway serves a holding document and the carrier comes back. `start` makes the first request
     * of an inbound call start the session (update-with-start). `updateId` names the request, so a carrier
     * retrying the same request gets the same answer. `deadline` bounds it all (the update and the fallback
     * signals): past it, it throws, and the gateway holds the call with the events in the hold's URL.
     */
    async nextDocument(
      workflowId: string,
      request: DocumentRequest,
      options: { updateId: string; start?: CallSessionInput } & RpcDeadline,
    ): Promise<DocumentReply | { kind: 'late' }> {
      const { deadline } = options;
      // The update gets the wait plus 2 s, inside the webhook's deadline; what is left goes to the fallback.
      const updateDeadline = Math.min(Date.now() + request.waitMs + 2000, deadline ?? Infinity);
      // Past this the reply would come too late to be read (see `DocumentRequest.answerBy`); 1 s covers the trip back.
      const sent: DocumentRequest = { ...request, answerBy: request.answerBy ?? Date.now() + request.waitMs + 1000 };
      try {
        return await connection.withDeadline(updateDeadline, () =>
          options.start
            ? client.workflow.executeUpdateWithStart(nextDocumentUpdate, {
                args: [sent],
                updateId: options.updateId,
                startWorkflowOperation: new WithStartWorkflowOperation(CALL_SESSION_WORKFLOW, {
                  ...startOptions(workflowId, options.start),
                  workflowIdConflictPolicy: 'USE_EXISTING',
                }),
              })
            : client.workflow
                .getHandle(workflowId)
                .executeUpdate(nextDocumentUpdate, { args: [sent], updateId: options.updateId }),
        );
      } catch (err) {
        if (err instanceof WorkflowNotFoundError || err instanceof WorkflowExecutionAlreadyStartedError)
          return { kind: 'late' };
        // The session did not answer in time: make sure its events are in Temporal, then hold the call.
        const first = request.events.find((e) => e.kind === 'call.incoming');
        const delivery =
          options.start && first
            ? await this.signalWithStart(workflowId, options.start, first, { deadline })
            : { outcome: 'delivered' as const, workflowId, started: false };
        if (delivery.outcome === 'late') return { kind: 'late' };
        for (const event of request.events) {
          if (event !== first || !options.start) {
            const d = await this.signal(workflowId, event, { deadline });
            if (d.outcome === 'late') return { kind: 'late' };
          }
        }
        return { kind: 'hold' };
      }
    },

    /** Starts a session for a call we place. Idempotent per workflow id (the request id). */
    async start(workflowId: string, input: CallSessionInput): Promise<{ started: boolean }> {
      try {
        await withDeadline(() => client.workflow.start(CALL_SESSION_WORKFLOW, startOptions(workflowId, input)));
        return { started: true };
      } catch (err) {
        if (err instanceof WorkflowExecutionAlreadyStartedError) return { started: false };
        throw err;
      }
    },

    async state(workflowId: string): Promise<CallState | undefined> {
      try {
        return await withDeadline(() => client.workflow.getHandle(workflowId).query(stateQuery));
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) return undefined;
        throw err;
      }
    },

    /** Whether the Temporal frontend answers. */
    async healthy(): Promise<boolean> {
      try {
        await connection.withDeadline(Date.now() + 2000, () => connection.workflowService.getSystemInfo({}));
        return true;
      } catch {
        return false;
      }
    },
  };
}

export type Sessions = ReturnType<typeof createSessions>;
