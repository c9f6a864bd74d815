import type { ActivityOptions } from '@temporalio/workflow';
import { ErrorType } from '../src/calls';

/**
 * Carrier commands are quick HTTP calls. Retries stay inside Telnyx's 60 s `command_id` de-duplication
 * window, so a retried command is still recognised as a repeat. The start-to-close timeout is what a command
 * in flight on a worker that dies costs the caller (Temporal retries it only after this long), so it is kept
 * just above the HTTP layer's own timeout (4 s to the response headers).
 */
export const COMMAND_OPTIONS: ActivityOptions = {
  startToCloseTimeout: '5 seconds',
  /**
   * A worker SIGKILLed mid-request would otherwise cost the caller the whole start-to-close timeout. An
   * activity still running after a moment heartbeats (`keepAlive` in activities/), so Temporal retries one
   * whose worker died within this long; a quick command (nearly all) sends no heartbeat at all.
   */
  heartbeatTimeout: '1500 ms',
  scheduleToCloseTimeout: '55 seconds',
  retry: {
    initialInterval: '250 ms',
    backoffCoefficient: 2,
    maximumInterval: '5 seconds',
    nonRetryableErrorTypes: [
      ErrorType.CallGone,
      ErrorType.CarrierRejected,
      ErrorType.Unsupported,
      ErrorType.InvalidCommand,
    ],
  },
};

/**
 * Placing a leg: the command options without the heartbeat timeout. A dial attempt's heartbeat details are its
 * note to the next attempt (`placeOnce`), which keep-alive heartbeats would overwrite.
 */
export const PLACE_CALL_OPTIONS: ActivityOptions = { ...COMMAND_OPTIONS, heartbeatTimeout: undefined };
