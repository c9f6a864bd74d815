import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { CallCommand } from './commands';
import type { CallEvent } from './events';
import type { ControlResult, ControlUpdateArgs } from './controls';
import type { CallState } from './state';

/**
 * Messages between the gateway (a Temporal client) and call sessions. Both sides import these objects,
 * so names and argument types cannot drift.
 */

/** A normalised carrier event for a session. Signals are durable without a worker running. */
export const callEventSignal = defineSignal<[CallEvent]>('callEvent');

/** The session's state, for `GET /calls/:id` and the Temporal UI. */
export const stateQuery = defineQuery<CallState>('state');

/** A document carrier asks for the call's next instructions (a SWML fetch, a jambonz hook). */
export interface DocumentRequest {
  /** Events this request carried; applied first (the gateway has also signalled them, duplicates are ignored). */
  events: CallEvent[];
  /** The command key of the document step the carrier has just finished, when this request hands one back. */
  handedBack?: string;
  /** The command key of the session's `redirect` this request answers (SignalWire names it in the URL). */
  redirectedBy?: string;
  /** How long the session may take to decide before the gateway serves a holding document. */
  waitMs: number;
  /**
   * Epoch ms after which nobody reads the reply: the gateway has served a holding document by then. A request
   * the session gets to only later (a worker was down) still applies its events, but leaves the outbox alone,
   * so commands are never handed to a reply that is lost.
   */
  answerBy?: number;
}

/**
 * The next instructions: commands to render as the carrier's document, or hold (nothing decided yet), or hang up,
 * or carry on (the request is the late report of a copy a redirect cut short, while the carrier already runs the
 * copy delivered again: an answer must not replace it; where a carrier cannot carry on, the gateway holds).
 */
export type DocumentReply =
  | { kind: 'commands'; commands: CallCommand[] }
  | { kind: 'hold' }
  | { kind: 'hangup' }
  | { kind: 'continue' };

/** Updates, unlike signals, return a value: the document the carrier is waiting for in its HTTP response. */
export const nextDocumentUpdate = defineUpdate<DocumentReply, [DocumentRequest]>('nextDocument');

/**
 * Live control of the call from the REST API (`POST /calls/:id/actions/:action`). The session's validator
 * refuses a control the call's state or the carrier's rules do not allow (`controlRefusal`), so a refused
 * control leaves no trace in history and nothing reaches the carrier.
 */
export const controlUpdate = defineUpdate<ControlResult, [ControlUpdateArgs]>('control');

/** The task queue every worker polls unless `TEMPORAL_TASK_QUEUE` says otherwise. */
export const DEFAULT_TASK_QUEUE = 'durable-calls';
