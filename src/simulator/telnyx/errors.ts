import type { RequestViolation } from './spec';

/**
 * Telnyx error bodies, `{errors:[{code, title, detail, source}]}`, with the codes and wording of the
 * examples in the spec (`UnprocessableEntityResponse` and friends).
 */

export interface TelnyxError {
  code: string;
  title: string;
  detail?: string;
  source?: { pointer?: string; parameter?: string };
}

/** A command Telnyx refuses; the server answers `status` with these errors. */
export class CommandRejected extends Error {
  override readonly name = 'CommandRejected';
  constructor(
    readonly status: number,
    readonly errors: TelnyxError[],
  ) {
    super(errors.map((e) => `${e.code} ${e.title}`).join('; '));
  }
}

const reject422 = (error: TelnyxError) => new CommandRejected(422, [error]);

export const rejections = {
  callEnded: () =>
    reject422({
      code: '90018',
      title: 'Call has already ended',
      detail: "This call is no longer active and can't receive commands.",
    }),
  invalidCallControlId: (pointer = '/call_control_id') =>
    reject422({
      code: '90015',
      title: 'Invalid Call Control ID',
      detail: 'The call_control_id provided was not valid.',
      source: { pointer },
    }),
  notAnswered: () =>
    reject422({
      code: '90034',
      title: 'Call not answered yet',
      detail: "This call can't receive this command because it has not been answered yet.",
    }),
  alreadyInQueue: () =>
    reject422({
      code: '90038',
      title: 'Call already in queue',
      detail: "Call can't be added to a queue it's already in.",
    }),
  queueFull: (queue: string) =>
    reject422({
      code: '90036',
      title: 'Queue full',
      detail: `The '${queue}' queue is full and can't accept more calls.`,
    }),
  notForked: () =>
    reject422({
      code: '90031',
      title: 'Call is not currently forked',
      detail: "Can't stop forking, because the call isn't currently forked.",
    }),
  missingParameter: (name: string) =>
    reject422({
      code: '10004',
      title: 'Missing required parameter',
      detail: `The '${name}' parameter is required and cannot be blank.`,
      source: { pointer: `/${name}` },
    }),
  invalidConnectionId: () =>
    reject422({
      code: '10015',
      title: 'Invalid value for connection_id (Call Control App ID)',
      detail:
        'The requested connection_id (Call Control App ID) is either invalid or does not exist. Only Call Control Apps with valid webhook URL are accepted.',
      source: { pointer: '/connection_id' },
    }),
  notE164: (name: string) =>
    reject422({
      code: '10016',
      title: 'Phone number must be in +E164 format',
      detail: `The '${name}' parameter must be in E164 format.`,
      source: { pointer: `/${name}` },
    }),
  invalidValue: (pointer: string, detail: string) =>
    reject422({ code: '10015', title: 'Invalid parameter value', detail, source: { pointer } }),
};

/** The Telnyx error for a request body that breaks its schema. */
export function violationError(violation: RequestViolation): TelnyxError {
  const name = violation.pointer.split('/').pop() || 'body';
  const source = { pointer: violation.pointer };
  switch (violation.keyword) {
    case 'required':
      return {
        code: '10004',
        title: 'Missing required parameter',
        detail: `The '${name}' parameter is required and cannot be blank.`,
        source,
      };
    case 'enum':
      return {
        code: '10032',
        title: 'Invalid enumerated value',
        detail: `The value must be one of: ${(violation.allowedValues ?? []).join(', ')}.`,
        source,
      };
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
    case 'minLength':
    case 'maxLength':
    case 'minItems':
    case 'maxItems':
      return { code: '10033', title: 'Value outside of range', detail: `'${name}' ${violation.message}.`, source };
    default:
      return { code: '10015', title: 'Invalid parameter value', detail: `'${name}' ${violation.message}.`, source };
  }
}

export const errorBodies = {
  unauthorized: (): TelnyxError => ({
    code: '10009',
    title: 'Authentication failed',
    detail: 'Could not understand the provided credentials.',
  }),
  notFound: (detail: string): TelnyxError => ({ code: '10005', title: 'Resource not found', detail }),
  badJson: (detail: string): TelnyxError => ({ code: '10015', title: 'Bad Request', detail }),
  internal: (): TelnyxError => ({ code: '10007', title: 'Internal server error', detail: 'Internal server error' }),
  unavailable: (): TelnyxError => ({ code: '10007', title: 'Service unavailable', detail: 'Service unavailable' }),
  tooManyRequests: (): TelnyxError => ({
    code: '10011',
    title: 'Too many requests',
    detail: 'You have exceeded the maximum number of allowed requests.',
  }),
};
