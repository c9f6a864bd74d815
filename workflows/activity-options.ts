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
