import type { CallCommandBody } from './commands';
import type { Provider } from './ids';
import type { FlowArgs } from './session-input';
import type { CallState } from './state';
import { transferRefusal, isTransferControl, type TransferOutcome, type TransferState } from './transfer';
import { isSupervisorRole, supervisorRefusal, type SupervisorFacts, type SupervisorRequest } from './supervisor';

/**
 * Live control of a running call from outside its flow (`POST /calls/:id/actions/:action`): the actions, the
 * carriers' rules on them as plain data, and the one check the session's update validator runs before it
 * accepts a control. Pure and deterministic: the gateway, the workflow and the unit tests share it.
 */

export const CONTROL_ACTIONS = [
  'hangup',
  'redirect',
  'play',
  'say',
  'send-dtmf',
  'record-pause',
  'record-resume',
  'mute',
  'unmute',
  'hold',
  'unhold',
  // Transfers of a bridged call (src/calls/transfer.ts).
  'transfer',
  'warm-transfer',
  // supervisor controls on a bridged call (src/calls/supervisor.ts):
  'monitor',
  'whisper',
  'barge',
] as const;
export type ControlAction = (typeof CONTROL_ACTIONS)[number];

export function isControlAction(value: unknown): value is ControlAction {
  return typeof value === 'string' && (CONTROL_ACTIONS as readonly string[]).includes(value);
}

/** What a control asks for, with its own fields (the REST body of its action). */
export type ControlRequest =
  | { action: 'hangup' }
  /** Cancels the running flow and runs `flow` in the same session (same call, same workflow). */
  | { action: 'redirect'; flow: string; args?: FlowArgs }
  | { action: 'play'; url: string }
  | { action: 'say'; text: string; voice?: string; language?: string }
  | { action: 'send-dtmf'; digits: string }
  | { action: 'record-pause' }
  | { action: 'record-resume' }
  | { action: 'mute' }
  | { action: 'unmute' }
  | { action: 'hold' }
  | { action: 'unhold' }
  // Transfers of a bridged call (src/calls/transfer.ts): blind, and warm in steps (consult, then complete or cancel).
  | { action: 'transfer'; to: string; from?: string; timeoutSeconds?: number }
  | {
      action: 'warm-transfer';
      step: 'consult' | 'complete' | 'cancel';
      to?: string;
      from?: string;
      timeoutSeconds?: number;
      holdMusicUrl?: string;
    }
  /** Dial `to` as a supervisor of the agent's call in this role, or switch the supervisor on the call to it. */
  | SupervisorRequest;

/**
 * Facts about the call a carrier's control rule can ask for. `recordingByCommand`: a recording runs that was
 * started as a REST command, so the carrier knows it by our command key (not one run as a document step).
 */
export type ControlCondition = 'answered' | 'bridged' | 'recording' | 'recordingByCommand' | 'inConference';

/** How one carrier carries out one control. */
export type ControlRoute =
  /** Sent at once as a REST command (`controlCommand`), whatever route its op has inside flows. */
  | { route: 'command'; requires?: CarrierRule }
  /** Done by the session itself (a `redirect` to another flow); the carrier is only told to stop what plays. */
  | { route: 'session'; requires?: CarrierRule }
  /** The carrier has no way to do it; `why` says what it lacks. */
  | { route: 'unsupported'; why: string };

/** A carrier's rule on a control: it is valid only while one of `anyOf` holds; `rule` says the carrier's rule. */
export interface CarrierRule {
  anyOf: readonly ControlCondition[];
  rule: string;
}

/** Every control, and how one carrier does it (`src/providers/<carrier>/ops.ts`). */
export type ControlTable = Readonly<Record<ControlAction, ControlRoute>>;

/** What the update carries: the request, and how the session's carrier does it (the gateway looks it up). */
export interface ControlUpdateArgs {
  request: ControlRequest;
  carrier: Provider;
  route: ControlRoute;
}

/** The update's answer. */
export interface ControlResult {
  /** `sent`: the carrier accepted the command; `redirected`: the new flow runs; `ended`: the call is over. */
  outcome: 'sent' | 'redirected' | 'ended' | TransferOutcome;
  /** The command key the carrier got (its idempotency key), when a command was sent. */
  commandKey?: string;
  /** After a redirect: the flow now running. */
  flow?: string;
  /** After a transfer control: where the transfer stands. */
  transfer?: TransferState;
  /** After a supervisor control: the supervisor's leg and the role it is in now. */
  supervisor?: { callId: string; role: SupervisorFacts['role']; answered: boolean };
}

/** Why a control was refused before anything was sent, and how the REST API reports it. */
export interface ControlRefusal {
  /** `call-ended` and `invalid-state` (409): the call's state; `carrier-rule` and `unsupported` (422): the carrier. */
  kind: 'call-ended' | 'invalid-state' | 'carrier-rule' | 'unsupported';
  reason: string;
}

/** The `ApplicationFailure` type of a refused control; its first detail is the `ControlRefusal`. */
export const CONTROL_REFUSED = 'ControlRefused';

/** The session's facts a control is checked against. */
export interface ControlFacts {
  state: Pick<CallState, 'status' | 'direction' | 'callId' | 'provider' | 'bridge'>;
  recording: boolean;
  recordingByCommand: boolean;
  /** Flows the session can run (a redirect's target must be one). */
  flows: readonly string[];
  /** The call's newest transfer, if any (`CallState.transfer`). */
  transfer?: TransferState;
  /** The supervisor leg on the call, if one is (supervisor controls). */
  supervisor?: SupervisorFacts;
  /** The call is in a conference (`joinConference` runs). */
  inConference?: boolean;
}

const ANSWERED: readonly CallState['status'][] = ['answered', 'bridged', 'queued'];

/** Whether a call in this status has answered and not ended (bridged and queued calls have). */
export function isAnsweredStatus(status: CallState['status']): boolean {
  return ANSWERED.includes(status);
}

function holds(condition: ControlCondition, facts: ControlFacts): boolean {
  switch (condition) {
    case 'answered':
      return ANSWERED.includes(facts.state.status);
    case 'bridged':
      return facts.state.status === 'bridged';
    case 'recording':
      return facts.recording;
    case 'recordingByCommand':
      return facts.recording && facts.recordingByCommand;
    case 'inConference':
      return facts.inConference === true;
  }
}

/** The call's own rules on a control, the same on every carrier (409 when broken). */
function stateRefusal(request: ControlRequest, facts: ControlFacts): string | undefined {
  const { status, direction } = facts.state;
  const answered = ANSWERED.includes(status);
  if (isTransferControl(request)) return transferRefusal(request, facts);
  const transfer = facts.transfer;
  if (
    (transfer?.step === 'dialing' || transfer?.step === 'consulting') &&
    (isSupervisorRole(request.action) || request.action === 'redirect')
  )
    return `a transfer to ${transfer.to} is under way: complete or cancel it first`;
  if (isSupervisorRole(request.action))
    return supervisorRefusal(request as SupervisorRequest, status, facts.supervisor);
  switch (request.action) {
    case 'hangup':
      // An unanswered inbound call is rejected; an outbound one is still being placed by the session.
      return answered || (direction === 'inbound' && status === 'ringing')
        ? undefined
        : `an outbound call can be hung up once it has answered (it is ${status})`;
    case 'redirect':
      if (!facts.flows.includes(request.flow)) return `no flow named "${request.flow}"`;
      return status === 'answered'
        ? undefined
        : `a call can be redirected to another flow only while answered and not bridged or queued (it is ${status})`;
    case 'record-pause':
    case 'record-resume':
      if (!answered) return `the call is ${status}, not answered`;
      return facts.recording ? undefined : 'no recording is running on the call';
    default:
      return answered ? undefined : `the call is ${status}, not answered`;
  }
}

/** Why the session refuses this control now, or undefined when it accepts it. */
export function controlRefusal(args: ControlUpdateArgs, facts: ControlFacts): ControlRefusal | undefined {
  const { request, route, carrier } = args;
  if (facts.state.status === 'ended') return { kind: 'call-ended', reason: 'the call has ended' };
  if (!facts.state.callId) return { kind: 'invalid-state', reason: 'the call has not been placed yet' };
  if (route.route === 'unsupported')
    return { kind: 'unsupported', reason: `${carrier} does not support ${request.action} (${route.why})` };
  const invalid = stateRefusal(request, facts);
  if (invalid) return { kind: 'invalid-state', reason: invalid };
  const rule = route.requires;
  if (rule && !rule.anyOf.some((condition) => holds(condition, facts)))
    return { kind: 'carrier-rule', reason: `${carrier}: ${rule.rule}` };
  return undefined;
}

/**
 * The command a control sends (route `command`). A hangup of an inbound call not yet answered is a `reject`
 * (jambonz `call_status: no-answer`; `completed` would be refused while it rings). `recordingTarget` names the
 * running recording for carriers that need its control id. Undefined for controls that send no command.
 */
export function controlCommand(
  request: ControlRequest,
  answered: boolean,
  recordingTarget: { target?: string },
): CallCommandBody | undefined {
  switch (request.action) {
    case 'hangup':
      return answered ? { op: 'hangup' } : { op: 'reject', reason: 'rejected' };
    case 'play':
      return { op: 'play', url: request.url };
    case 'say': {
      const { text, voice, language } = request;
      return { op: 'say', text, ...(voice ? { voice } : {}), ...(language ? { language } : {}) };
    }
    case 'send-dtmf':
      return { op: 'sendDtmf', digits: request.digits };
    case 'record-pause':
      return { op: 'recordPause', ...recordingTarget };
    case 'record-resume':
      return { op: 'recordResume', ...recordingTarget };
    case 'mute':
    case 'unmute':
      return { op: request.action };
    case 'hold':
      return { op: 'conferenceHold' };
    case 'unhold':
      return { op: 'conferenceUnhold' };
    case 'redirect':
      return undefined;
    // The session places or switches the supervisor leg itself.
    case 'monitor':
    case 'whisper':
    case 'barge':
      return undefined;
    // Transfers are carried out by the session (several commands, see workflows/session.ts).
    case 'transfer':
    case 'warm-transfer':
      return undefined;
  }
}
