import { getHeapStatistics } from 'node:v8';
import type { WorkerOptions } from '@temporalio/worker';
import type { Config } from '../src/config';

/**
 * How many sessions a worker keeps in memory and how it polls for their workflow tasks (issue 11).
 *
 * The cache must hold every live session the worker runs: a session that was evicted replays its whole history
 * on its next event, and taking in any session while the cache is full first evicts another. With the SDK's
 * default (600 per GB of heap, 2,310 here) and more live calls than that, every event became a replay plus an
 * eviction and new callers waited seconds (bench/call-start.ts: 300 live calls, a 100-session cache: call start
 * p99 16 s; a cache holding them all: 0.14 s). So the cache is sized explicitly, by WORKER_CACHED_SESSIONS or else
 * from the heap this process has, and a deployment runs enough workers for its peak of live calls.
 */

/**
 * Memory budgeted per cached session, MiB. Measured (bench/session-memory.ts): 488 KiB of worker RSS per session
 * waiting at the IVR menu; twice that, because sessions with long histories (queues, conferences, hours-long
 * calls) hold more.
 */
export const SESSION_MEMORY_MIB = 1;
/** What the worker uses with no session cached (measured: ~380 MiB RSS, ts-node included), kept out of the budget. */
export const WORKER_BASE_MEMORY_MIB = 400;

/** The sessions a heap of `heapLimitMiB` holds (`NODE_OPTIONS=--max-old-space-size` sets the heap). */
export function cachedSessionsForHeap(heapLimitMiB: number): number {
  return Math.max(Math.floor((heapLimitMiB - WORKER_BASE_MEMORY_MIB) / SESSION_MEMORY_MIB), 10);
}

/** This process's V8 heap limit, MiB. */
function heapLimitMiB(): number {
  return getHeapStatistics().heap_size_limit / 2 ** 20;
}

export type WorkflowTaskSizing = Pick<
  WorkerOptions,
  | 'maxCachedWorkflows'
  | 'maxConcurrentWorkflowTaskExecutions'
  | 'workflowTaskPollerBehavior'
  | 'stickyQueueScheduleToStartTimeout'
>;

/** The Worker.create options for the session cache, workflow-task slots and pollers. */
export function workflowTaskSizing(worker: Config['worker'], heapMiB = heapLimitMiB()): WorkflowTaskSizing {
  return {
    maxCachedWorkflows: worker.cachedSessions ?? cachedSessionsForHeap(heapMiB),
    maxConcurrentWorkflowTaskExecutions: worker.maxConcurrentWorkflowTasks,
    stickyQueueScheduleToStartTimeout: worker.stickyScheduleToStartMs,
    // Autoscaling (SDK 1.24, server ≥ 1.27): the sticky pollers (live sessions) and the task queue's pollers (new
    // sessions, and sessions another worker had) each scale on the server's backlog hints, instead of a fixed split
    // in which one poller took every new call. Polls still need a free slot (WORKER_MAX_WORKFLOW_TASKS).
    workflowTaskPollerBehavior: {
      type: 'autoscaling',
      minimum: 1,
      initial: Math.min(5, worker.workflowTaskPollers),
      maximum: worker.workflowTaskPollers,
    },
  };
}
