import type { ActivityOptions } from '@temporalio/workflow';
import { ErrorType } from '../src/calls';

/**
 * Carrier commands are quick HTTP calls. Retries stay inside Telnyx's 60 s `command_id` de-duplication
 * window, so a retried command is still recognised as a repeat.
 */
export const COMMAND_OPTIONS: ActivityOptions = {
  startToCloseTimeout: '10 seconds',
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
