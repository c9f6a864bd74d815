import type { FlowArgs, FlowCheckpoint } from '../../src/calls';
import type { CallSession } from '../session';

export interface FlowContext {
  /** The routing table entry's arguments. */
  args: FlowArgs;
  /** Set when the session continued-as-new at a `checkpoint`: where to pick up. */
  resume?: FlowCheckpoint;
}

/**
 * A call flow: a plain async function over the call. It returns a one-line outcome for the session's
 * result. Operations throw `CallEnded` once the caller hangs up; a flow may catch it to clean up.
 */
export type Flow = (call: CallSession, context: FlowContext) => Promise<string | void>;
