import type { ControlFacts, ControlRequest } from './controls';

/**
 * Transfers of a bridged call, as live controls: `transfer` (blind: the caller is connected to a new party and
 * the agent's leg is released) and `warm-transfer` in steps (`consult`: the caller holds while the agent talks
 * to a second party; then `complete`: the caller is connected to that party and the first agent released, or
 * `cancel`: the second party is released and the caller is back with the first agent). The session's rules on
 * them, pure and shared by the gateway, the workflow and the unit tests.
 */

export type WarmTransferStep = 'consult' | 'complete' | 'cancel';
export const WARM_TRANSFER_STEPS: readonly WarmTransferStep[] = ['consult', 'complete', 'cancel'];

/** Where the call's newest transfer stands (`CallState.transfer`). */
export interface TransferState {
  kind: 'blind' | 'warm';
  /** The party the caller is transferred to (or, in a warm transfer, the party consulted). */
  to: string;
  /**
   * `dialing`: the new party rings; `consulting`: the caller holds while the agent talks to `to`; `completed`:
   * the caller was connected to `to`; `cancelled`: back with the first agent; `not-answered`: `to` did not answer.
   */
  step: 'dialing' | 'consulting' | 'completed' | 'cancelled' | 'not-answered';
  /** When the step was reached. */
  at: string;
  /** The party the caller was bridged to before (the first agent). */
  from?: string;
  /** Carrier ids of the first agent's leg and of the new party's leg, when known. */
  agentCallId?: string;
  partyCallId?: string;
}

/** What a transfer control answers (`ControlResult.outcome`). */
export type TransferOutcome = 'transferred' | 'consulting' | 'returned' | 'not-answered';

export type TransferControl = Extract<ControlRequest, { action: 'transfer' | 'warm-transfer' }>;

export function isTransferControl(request: ControlRequest): request is TransferControl {
  return request.action === 'transfer' || request.action === 'warm-transfer';
}

/** The call's own rules on a transfer (the same on every carrier; 409 when broken), or undefined when it may go. */
export function transferRefusal(request: TransferControl, facts: ControlFacts): string | undefined {
  const { status } = facts.state;
  const transfer = facts.transfer;
  if (transfer?.step === 'dialing') return `a transfer to ${transfer.to} is under way`;
  const consulting = transfer?.step === 'consulting' ? transfer : undefined;
  if (request.action === 'transfer' || request.step === 'consult') {
    if (consulting) return `a warm transfer is consulting ${consulting.to}: complete or cancel it first`;
    if (request.action === 'warm-transfer' && !request.to) return 'a consult names the party to consult (`to`)';
    // A room's agent ends it on leaving (jambonz, SignalWire): it cannot hand that over without ending it.
    const room = request.action === 'warm-transfer' ? facts.state.bridge?.room : undefined;
    if (room)
      return `the call is already in a conference (${room}) whose agent ends it on leaving: a consult would end it`;
    return status === 'bridged' ? undefined : `only a bridged call can be transferred (it is ${status})`;
  }
  return consulting ? undefined : `no warm transfer is consulting anyone: ${request.step} follows a consult`;
}
