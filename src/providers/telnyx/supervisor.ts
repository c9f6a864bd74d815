import type { SupervisorRole } from '../../calls/supervisor';
import type { CarrierRequest } from '../types';

/**
 * Supervisors on Telnyx: a leg dialed with `supervise_call_control_id` (the agent's leg) and `supervisor_role`
 * joins that leg's bridge in the role (`monitor` hears both parties, unheard; `whisper` is heard by the
 * supervised leg only; `barge` is heard by both). `switch_supervisor_role`, sent to the supervisor's leg, changes
 * the role while it stays on the call. Our role names are Telnyx's.
 */

/** The dial (`POST /calls`) fields of a supervisor leg. */
export function telnyxSupervisorDialFields(supervise: { callId: string; role: SupervisorRole }): {
  supervise_call_control_id: string;
  supervisor_role: SupervisorRole;
} {
  return { supervise_call_control_id: supervise.callId, supervisor_role: supervise.role };
}

/** `switch_supervisor_role` on the supervisor's leg; the one action with neither `client_state` nor `command_id`. */
export function telnyxSwitchSupervisorRoleRequest(supervisorCallId: string, role: SupervisorRole): CarrierRequest {
  return {
    method: 'POST',
    path: `/calls/${encodeURIComponent(supervisorCallId)}/actions/switch_supervisor_role`,
    body: { role },
    operation: 'switch_supervisor_role',
  };
}
