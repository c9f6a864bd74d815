import { ApplicationFailure } from '@temporalio/common';
import { WithStartWorkflowOperation, type Client } from '@temporalio/client';
import {
  CALL_QUEUE_WORKFLOW,
  joinQueueUpdate,
  queuePositionQuery,
  queueWorkflowId,
  queueWorkflowStart,
  type JoinQueueRequest,
  type JoinQueueResult,
  type QueueConfig,
  type QueuePosition,
} from '../src/calls';

/**
 * The caller's side of a queue, as activities: joining (update-with-start, so the first caller starts the
 * queue workflow) and reading one's position for an announcement (a query: no history on the queue).
 */

export interface QueueActivityDeps {
  client: Client;
  /** The worker's task queue: the queue workflows run beside the sessions. */
  taskQueue: string;
  /** The queues file: only queues named there can be joined. */
  queues: Record<string, Partial<QueueConfig>>;
}

/** `ApplicationFailure.type` of a join naming a queue the queues file does not have. */
export const UNKNOWN_QUEUE = 'UnknownQueue';

export interface JoinQueueInput extends JoinQueueRequest {
  queue: string;
}

export function createQueueActivities(deps: QueueActivityDeps) {
  const configOf = (queue: string): Partial<QueueConfig> => {
    const config = deps.queues[queue];
    if (!config) {
      throw ApplicationFailure.nonRetryable(
        `no queue named "${queue}" in the queues file (known: ${Object.keys(deps.queues).join(', ') || 'none'})`,
        UNKNOWN_QUEUE,
      );
    }
    return config;
  };

  return {
    /** Joins (and if need be starts) `queue:<name>`. Retries are safe: the request id is the ticket. */
    async joinQueue(input: JoinQueueInput): Promise<JoinQueueResult> {
      const { queue, ...request } = input;
      const start = queueWorkflowStart(queue, configOf(queue));
      return deps.client.workflow.executeUpdateWithStart(joinQueueUpdate, {
        args: [request],
        startWorkflowOperation: new WithStartWorkflowOperation(CALL_QUEUE_WORKFLOW, {
          ...start,
          taskQueue: deps.taskQueue,
          workflowIdConflictPolicy: 'USE_EXISTING',
        }),
      });
    },

    /** The caller's position and wait estimate now (the queue's own time stands still between its tasks). */
    async readQueuePosition(input: { queue: string; ticket: string }): Promise<QueuePosition> {
      return deps.client.workflow
        .getHandle(queueWorkflowId(input.queue))
        .query(queuePositionQuery, { ticket: input.ticket, now: Date.now() });
    },
  };
}

export type QueueActivities = ReturnType<typeof createQueueActivities>;
