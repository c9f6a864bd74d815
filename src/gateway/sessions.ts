import {
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
  stateQuery,
  type CallEvent,
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
  const withDeadline = <T>(fn: () => Promise<T>) => connection.withDeadline(Date.now() + (options.rpcTimeoutMs ?? 5000), fn);

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
