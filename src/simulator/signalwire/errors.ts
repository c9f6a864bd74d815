import type { RequestViolation } from './spec';

/**
 * Calling API error bodies as the spec gives them: `{error: "<reason phrase>"}` for 400/401/404/500, and
 * for 422 `{errors: [{type, code, message, attribute, url}]}` (`Calling.CallCreate422Error`).
 */

export const ERROR_DOCS_URL = 'https://signalwire.com/docs/apis/error-codes';

export interface ValidationErrorItem {
  type: 'validation_error';
  code: string;
  message: string;
  attribute: string | null;
  url: string;
}

export type ErrorBody = { error: string } | { errors: ValidationErrorItem[] };

/** A command SignalWire refuses; the server answers `status` with `body`. */
export class CommandRejected extends Error {
  override readonly name = 'CommandRejected';
  constructor(
    readonly status: number,
    readonly body: ErrorBody,
  ) {
    super('error' in body ? body.error : body.errors.map((e) => e.message).join('; '));
  }
}

export const errorBodies = {
  badRequest: () => ({ error: 'Bad Request' }),
  unauthorized: () => ({ error: 'Unauthorized' }),
  notFound: () => ({ error: 'Not Found' }),
  internal: () => ({ error: 'Internal Server Error' }),
  // Not in the spec (it lists no 429 or 503); the reason phrases, like its other error bodies.
  unavailable: () => ({ error: 'Service Unavailable' }),
  tooManyRequests: () => ({ error: 'Too Many Requests' }),
};

function validationError(code: string, attribute: string | null, message: string): ValidationErrorItem {
  return { type: 'validation_error', code, message, attribute, url: ERROR_DOCS_URL };
}

/** The 422 items for a body that breaks its `CallRequest` variant. */
export function violationErrors(violations: RequestViolation[]): ValidationErrorItem[] {
  return violations.map((v) =>
    validationError(
      v.keyword === 'required' ? 'missing_required_parameter' : 'invalid_parameter',
      v.attribute,
      v.message,
    ),
  );
}

export const rejections = {
  /** Any command for a call that does not exist, or no longer does. */
  callNotFound: () => new CommandRejected(404, errorBodies.notFound()),
  /** A command the simulator does not run (AI, transcription, live translation). */
  notSimulated: () => new CommandRejected(400, errorBodies.badRequest()),
  /** `calling.collect` with neither digits nor speech: the API answers 400 (research notes §1). */
  collectWithoutInput: () => new CommandRejected(400, errorBodies.badRequest()),
  /** A state transition the `update` rules forbid (doc comment on `CallUpdateCurrentCallRequest`). */
  updateNotAllowed: (attribute: string, message: string) =>
    new CommandRejected(422, { errors: [validationError('invalid_call_state', attribute, message)] }),
  invalidValue: (attribute: string, message: string) =>
    new CommandRejected(422, { errors: [validationError('invalid_parameter', attribute, message)] }),
};
