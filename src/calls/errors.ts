import { ApplicationFailure } from '@temporalio/workflow';
import type { EndCause } from './events';

/**
 * Error types that cross the workflow boundary. Activities raise them as `ApplicationFailure`s whose
 * `type` is one of these names (so they survive serialisation); the flow API raises the classes below.
 */
export const ErrorType = {
  /** The carrier says the call no longer exists (Telnyx 422/90018, SignalWire 404/422, jambonz 404/422). */
  CallGone: 'CallGone',
  /** The carrier cannot do this operation at all (jambonz has no fax). */
  Unsupported: 'Unsupported',
  /** The carrier refused the request as invalid; retrying will not help. */
  CarrierRejected: 'CarrierRejected',
  /** The carrier could not be reached or failed; retryable. */
  CarrierUnavailable: 'CarrierUnavailable',
  /** The request broke a carrier's documented rule and was refused before it was sent. */
  InvalidCommand: 'InvalidCommand',
  /**
   * A dial without an idempotency key (SignalWire, jambonz) may have reached the carrier but gave no answer;
   * dialing again could place a second call, so it is not retried.
   */
  DialOutcomeUnknown: 'DialOutcomeUnknown',
  /** This worker has no credentials for the session's carrier; retryable (another worker may have them). */
  CarrierNotConfigured: 'CarrierNotConfigured',
  /** The session names a flow the worker does not have. */
  UnknownFlow: 'UnknownFlow',
  /** The flow threw something other than `CallEnded`: a bug in the flow, not a carrier failure. */
  FlowFailed: 'FlowFailed',
  /** A fax ran out of attempts without an outcome. */
  FaxFailed: 'FaxFailed',
} as const;
export type ErrorType = (typeof ErrorType)[keyof typeof ErrorType];

/**
 * Raised by every pending and later operation of a session once its call has ended. A flow may catch it
 * to clean up, but must not touch the call afterwards.
 */
export class CallEnded extends Error {
  override readonly name = 'CallEnded';
  constructor(
    readonly endCause: EndCause,
    readonly operation?: string,
  ) {
    super(operation ? `call ended (${endCause}) during ${operation}` : `call ended (${endCause})`);
  }
}

/** Raised when a carrier cannot perform an operation; names both. */
export class Unsupported extends Error {
  override readonly name = 'Unsupported';
  constructor(
    readonly provider: string,
    readonly operation: string,
  ) {
    super(`${provider} does not support ${operation}`);
  }
}

export function isCallEnded(err: unknown): err is CallEnded {
  return err instanceof Error && err.name === 'CallEnded';
}

/** The `type` of an activity failure's cause, if it is an application failure. */
export function failureType(err: unknown): string | undefined {
  let current: unknown = err;
  for (let depth = 0; current && depth < 5; depth++) {
    if (current instanceof ApplicationFailure) return current.type ?? undefined;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}
