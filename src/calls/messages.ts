import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { CallEvent } from './events';
import type { CallState } from './state';

/**
 * Messages between the gateway (a Temporal client) and call sessions. Both sides import these objects,
 * so names and argument types cannot drift.
 */

/** A normalised carrier event for a session. Signals are durable without a worker running. */
export const callEventSignal = defineSignal<[CallEvent]>('callEvent');

/** The session's state, for `GET /calls/:id` and the Temporal UI. */
export const stateQuery = defineQuery<CallState>('state');

/** Asks a session to hang up (REST control). */
export const hangupUpdate = defineUpdate<{ accepted: boolean }, []>('hangup');

/** The task queue every worker polls unless `TEMPORAL_TASK_QUEUE` says otherwise. */
export const DEFAULT_TASK_QUEUE = 'durable-calls';
