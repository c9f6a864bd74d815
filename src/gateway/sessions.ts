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
}

export function describeCall(input: Pick<CallSessionInput, 'provider' | 'direction' | 'from' | 'to' | 'flow'>): string {
  return `${input.direction === 'inbound' ? 'Inbound' : 'Outbound'} ${input.provider} call ${input.from} → ${input.to} · ${input.flow}`;
}

export function createSessions(options: SessionsOptions) {
  const { client, connection, taskQueue } = options;
  const withDeadline = <T>(fn: () => Promise<T>) =>
    connection.withDeadline(Date.now() + (options.rpcTimeoutMs ?? 5000), fn);

  const startOptions = (workflowId: string, input: CallSessionInput) => ({
    workflowId,
    taskQueue,
    args: [input] as [CallSessionInput],
    // A closed session must never be started again by a late or replayed webhook.
    workflowIdReusePolicy: 'REJECT_DUPLICATE' as const,
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
    async signalWithStart(workflowId: string, input: CallSessionInput, event: CallEvent): Promise<Delivery> {
      try {
        await withDeadline(() =>
          client.workflow.signalWithStart(CALL_SESSION_WORKFLOW, {
            ...startOptions(workflowId, input),
            signal: callEventSignal,
            signalArgs: [event],
          }),
        );
        return { outcome: 'delivered', workflowId, started: true };
      } catch (err) {
        if (err instanceof WorkflowExecutionAlreadyStartedError) return { outcome: 'late', workflowId };
        throw err;
      }
    },

    /** Any later event: signals the running session; a closed or unknown one means the event is late. */
    async signal(workflowId: string, event: CallEvent): Promise<Delivery> {
      try {
        await withDeadline(() => client.workflow.getHandle(workflowId).signal(callEventSignal, event));
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
     * retrying the same request gets the same answer.
     */
    async nextDocument(
      workflowId: string,
      request: DocumentRequest,
      options: { updateId: string; start?: CallSessionInput },
    ): Promise<DocumentReply | { kind: 'late' }> {
      const deadline = request.waitMs + 2000;
      // Past this the reply would come too late to be read (see `DocumentRequest.answerBy`); 1 s covers the trip back.
      const sent: DocumentRequest = { ...request, answerBy: request.answerBy ?? Date.now() + request.waitMs + 1000 };
      try {
        return await connection.withDeadline(Date.now() + deadline, () =>
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
            ? await this.signalWithStart(workflowId, options.start, first)
            : { outcome: 'delivered' as const, workflowId, started: false };
        if (delivery.outcome === 'late') return { kind: 'late' };
        for (const event of request.events) {
          if (event !== first || !options.start) {
            const d = await this.signal(workflowId, event);
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
