/**
 * A supervisor on a bridged call (the live controls `monitor`, `whisper` and `barge`): a third leg dialed to a
 * supervisor's number and attached to the caller's bridge with one of three roles. Pure and deterministic: the
 * gateway, the workflow and the unit tests share it.
 */

/**
 * `monitor`: the supervisor hears both parties and nobody hears the supervisor. `whisper`: the supervisor hears
 * both parties and only the agent hears the supervisor (coaching). `barge`: everyone hears everyone.
 */
export const SUPERVISOR_ROLES = ['monitor', 'whisper', 'barge'] as const;
export type SupervisorRole = (typeof SUPERVISOR_ROLES)[number];

export function isSupervisorRole(value: unknown): value is SupervisorRole {
  return typeof value === 'string' && (SUPERVISOR_ROLES as readonly string[]).includes(value);
}

/**
 * How a member of a call's conference takes part where a dial bridges two legs only and supervisors and warm
 * transfers need a room (jambonz, SignalWire): the agent (ending the room when it leaves, which hands the caller
 * back to its flow), a plain `member` who does not end it (a consulted party, or the agent while the caller
 * holds), or a supervisor in its role.
 */
export type RoomMember = 'agent' | 'member' | SupervisorRole;

export function isRoomMember(value: unknown): value is RoomMember {
  return value === 'agent' || value === 'member' || isSupervisorRole(value);
}

/** A supervisor control: dial `to` in this role, or (without `to`) switch the supervisor on the call to it. */
export interface SupervisorRequest {
  action: SupervisorRole;
  to?: string;
}

/** The supervisor leg on a call, as the session knows it. */
export interface SupervisorFacts {
  to?: string;
  role: SupervisorRole;
}

/**
 * Why a supervisor control does not fit the call now (the same on every carrier), or undefined. The call must be
 * bridged to an agent; one supervisor per call: a second `to` is refused, and a switch needs a supervisor on the
 * call and a role it is not in already.
 */
export function supervisorRefusal(
  request: SupervisorRequest,
  status: string,
  supervisor: SupervisorFacts | undefined,
): string | undefined {
  if (status !== 'bridged') return `a supervisor joins a call bridged to an agent (it is ${status})`;
  if (!supervisor)
    return request.to
      ? undefined
      : `no supervisor is on the call: name one with "to" to ${request.action} the agent's call`;
  if (request.to && request.to !== supervisor.to)
    return `a supervisor (${supervisor.to ?? 'unknown'}) is already on the call: switch its role without "to"`;
  if (supervisor.role === request.action) return `the supervisor is already in ${request.action} mode`;
  return undefined;
}
