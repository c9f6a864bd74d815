import type {
  CallDirection,
  CallEvent,
  GatherEndReason,
  HangupSource,
  MachineDetectionResult,
  QueueLeaveReason,
} from '../../calls/events';
import { EndCause } from '../../calls/events';
import { inboundCallWorkflowId } from '../../calls/ids';
import { parseJsonBody } from '../json-body';
import { MalformedWebhookError, type RoutedEvents } from '../types';
import { OWNER_TAG_KEY } from './verbs';
import { JambonzHook } from './webhook';

/**
 * jambonz webhooks -> `CallEvent`s. The hook kind comes from the (verified) hook URL, because the HTTP body
 * does not say which hook it is. Payload keys are snake_case, except `customerData`.
 *
 * Event ids: jambonz HTTP hooks carry none, so each is derived from what identifies the event in the
 * payload, and a retried delivery (same body) gets the same id:
 * - call state: `jambonz:<call_sid>:<state>`; every source of the same state (status hook, call hook,
 *   redirect, dial actionHook for the dialed leg) yields the same id, so the session keeps only the first;
 * - operation outcomes: `jambonz:<call_sid>:<hook>:<control id>:<outcome>`; the control id (our command key,
 *   from the hook URL, else the verb's `verb_id`) keeps two gathers on one call apart.
 */

/** What the gateway knows about a hook request besides its body. */
export interface JambonzHookContext {
  hook: JambonzHook;
  /** The command key of the operation, from the verified hook URL. */
  controlId?: string;
  /** jambonz payloads carry no event time: when the gateway received the hook, ISO-8601. */
  receivedAt: string;
}

type Payload = Record<string, unknown>;
type EventBody = DistributiveOmit<CallEvent, 'provider' | 'eventId' | 'callId' | 'occurredAt' | 'controlId'>;
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** Turns a verified hook body into events and names the session that owns the call, when it can tell. */
export function normaliseJambonzWebhook(rawBody: Buffer | string, context: JambonzHookContext): RoutedEvents {
  const payload = parsePayload(rawBody);
  const callSid = requiredString(payload, 'call_sid');
  const controlId = context.controlId ?? optionalString(payload, 'verb_id');

  const make = (callId: string, eventId: string, body: EventBody, withControlId = true): CallEvent =>
    ({
      provider: 'jambonz',
      eventId,
      callId,
      occurredAt: context.receivedAt,
      ...(withControlId && controlId !== undefined && { controlId }),
      ...body,
    }) as CallEvent;
  /** An event about the call's own state, shared by every hook that reports it. */
  const callState = (callId: string, state: string, body: EventBody): CallEvent =>
    make(callId, `jambonz:${callId}:${state}`, body, false);
  /** The outcome of the operation whose hook this is, on the call that sent the hook. */
  const outcome = (what: string, body: EventBody): CallEvent =>
    make(callSid, `jambonz:${callSid}:${context.hook}:${controlId ?? '-'}:${what}`, body);

  const events = ((): CallEvent[] => {
    switch (context.hook) {
      case JambonzHook.Call:
        return [
          callState(callSid, 'incoming', {
            kind: 'call.incoming',
            direction: direction(payload),
            from: requiredString(payload, 'from'),
            to: requiredString(payload, 'to'),
          }),
          ...answeredIfInProgress(payload, callSid, callState),
        ];
      case JambonzHook.Status:
        return statusEvents(payload, callSid, callState);
      case JambonzHook.Next:
        return answeredIfInProgress(payload, callSid, callState);
      case JambonzHook.Say:
        return [outcome('ended', { kind: 'speak.ended', status: 'completed' })];
      case JambonzHook.PlaybackStopped:
        // The LCC redirect killed whatever was playing or speaking; the session resolves the one it had pending.
        return [
          outcome('playback', { kind: 'playback.ended', status: 'cancelled' }),
          outcome('speak', { kind: 'speak.ended', status: 'cancelled' }),
        ];
      case JambonzHook.GatherStopped:
        return [outcome('ended', { kind: 'gather.ended', reason: 'cancelled', digits: '' })];
      case JambonzHook.Gather:
        return [gatherEnded(payload, outcome)];
      case JambonzHook.Play:
        return [playEnded(payload, outcome)];
      case JambonzHook.Dial:
        return dialEnded(payload, callState, outcome, callSid);
      case JambonzHook.Listen:
        return [recordingEnded(payload, outcome)];
      case JambonzHook.Enqueue:
        return [queueLeft(payload, outcome)];
      case JambonzHook.Wait:
        // Polled again and again while the caller waits: the (per-operation) id lets only the first one count.
        // jambonz's queue_position is left out: every caller waits in one parking queue (JAMBONZ_PARKING_QUEUE).
        return [outcome('joined', { kind: 'queue.joined', queue: queueName(payload) })];
      case JambonzHook.Dequeue:
        return dequeueEnded(payload, outcome);
      case JambonzHook.Amd:
        return machineDetection(payload, outcome);
      case JambonzHook.Confirm:
        // The callee answered; the dial's own events report that. The gateway answers it with the whisper.
        return [];
      case JambonzHook.Member:
        // A member of a supervised call's room asks for its verbs; its status hook reports its call.
        return [];
      // conferences:
      case JambonzHook.Conference:
        return [outcome('left', { kind: 'conference.left' })];
    }
  })();
  return { ownerWorkflowId: ownerWorkflowIdOf(payload, callSid), events };
}

/**
 * The session that owns this call: the one named in `customerData` (we tag calls we place), else the session
 * of the parent call for a leg that a `dial` created, else the call's own session for an inbound call.
 * A session id in the verified hook URL, when there is one, takes precedence over all of these. (A dialed
 * leg's status goes to its parent's status hook, so when the parent is a call we placed, whose hooks carry
 * its session, the URL names the right owner where the parent_call_sid guess would not.)
 */
function ownerWorkflowIdOf(payload: Payload, callSid: string): string | undefined {
  const customerData = payload.customerData;
  if (isObject(customerData) && typeof customerData[OWNER_TAG_KEY] === 'string') {
    return customerData[OWNER_TAG_KEY];
  }
  const parentCallSid = optionalString(payload, 'parent_call_sid');
  if (parentCallSid !== undefined) return inboundCallWorkflowId('jambonz', parentCallSid);
  return payload.direction === 'inbound' ? inboundCallWorkflowId('jambonz', callSid) : undefined;
}

type CallStateEvent = (callId: string, state: string, body: EventBody) => CallEvent;
type OutcomeEvent = (what: string, body: EventBody) => CallEvent;

/** `call_status_hook`: trying, ringing, early-media, in-progress, completed, failed, busy, no-answer. */
function statusEvents(payload: Payload, callSid: string, callState: CallStateEvent): CallEvent[] {
  const status = requiredString(payload, 'call_status');
  switch (status) {
    case 'trying': {
      const from = requiredString(payload, 'from');
      const to = requiredString(payload, 'to');
      return direction(payload) === 'inbound'
        ? [callState(callSid, 'incoming', { kind: 'call.incoming', direction: 'inbound', from, to })]
        : [callState(callSid, 'outgoing', { kind: 'call.outgoing', from, to })];
    }
    case 'ringing':
    case 'early-media':
      return [callState(callSid, `status:${status}`, { kind: 'call.ringing' })];
    case 'in-progress':
      return answeredIfInProgress(payload, callSid, callState);
    case 'completed':
    case 'failed':
    case 'busy':
    case 'no-answer': {
      const callDirection = direction(payload);
      const sipCode = optionalNumber(payload, 'sip_status');
      const cause = endCause(status, sipCode, callDirection);
      return [
        callState(callSid, 'ended', {
          kind: 'call.ended',
          cause,
          source: cause === EndCause.Cancelled ? 'caller' : hangupSource(payload, callDirection),
          ...(sipCode !== undefined && { sipCode }),
        }),
      ];
    }
    case 'queued':
      return []; // in jambonz's enum, with no meaning for a session
    default:
      throw new MalformedWebhookError(`jambonz call_status "${status}" is not one jambonz documents`);
  }
}

/**
 * `call.answered` when the payload says the call is up. A leg created by `dial` (it has a parent) is bridged
 * to its parent as soon as it answers, so it also yields `bridged` on the parent.
 */
function answeredIfInProgress(payload: Payload, callSid: string, callState: CallStateEvent): CallEvent[] {
  if (payload.call_status !== 'in-progress') return [];
  const answered = callState(callSid, 'answered', { kind: 'call.answered' });
  const parentCallSid = optionalString(payload, 'parent_call_sid');
  if (parentCallSid === undefined) return [answered];
  return [answered, callState(parentCallSid, `bridged:${callSid}`, { kind: 'bridged', otherCallId: callSid })];
}

/** How a call ended; `sip_status` refines `failed` and tells a caller's cancel from an unanswered call. */
function endCause(
  status: 'completed' | 'failed' | 'busy' | 'no-answer',
  sipCode: number | undefined,
  callDirection: CallDirection,
): EndCause {
  switch (status) {
    case 'completed':
      return EndCause.Normal;
    case 'busy':
      return EndCause.Busy;
    case 'no-answer':
      return callDirection === 'inbound' && sipCode === 487 ? EndCause.Cancelled : EndCause.NoAnswer;
    case 'failed':
      return failedCause(sipCode);
  }
}

function failedCause(sipCode: number | undefined): EndCause {
  if (sipCode === undefined) return EndCause.Failed;
  if ([404, 410, 484, 485, 604].includes(sipCode)) return EndCause.Unreachable;
  if ([403, 603, 607, 608].includes(sipCode)) return EndCause.Rejected;
  if ([486, 600].includes(sipCode)) return EndCause.Busy;
  return EndCause.Failed;
}

/** `call_termination_by` names the far end of this leg as `caller`, and jambonz itself (our hangup) as `jambonz`. */
function hangupSource(payload: Payload, callDirection: CallDirection): HangupSource {
  switch (payload.call_termination_by) {
    case 'caller':
      return callDirection === 'inbound' ? 'caller' : 'callee';
    case 'jambonz':
      return 'app';
    default:
      return 'unknown';
  }
}

/** gather `reason`: dtmfDetected + digits, speechDetected + speech, timeout, error, stt-low-confidence + speech. */
function gatherEnded(payload: Payload, outcome: OutcomeEvent): CallEvent {
  const reason = requiredString(payload, 'reason');
  const digits = optionalString(payload, 'digits') ?? '';
  const ended = (result: GatherEndReason, speech?: { text: string; confidence?: number }): CallEvent =>
    outcome(reason, { kind: 'gather.ended', reason: result, digits, ...(speech && { speech }) });
  switch (reason) {
    case 'dtmfDetected':
      return ended('complete');
    case 'speechDetected':
      return ended('complete', requiredSpeech(payload));
    case 'stt-low-confidence':
      return ended('invalid', speechOf(payload));
    case 'timeout':
      return ended('timeout');
    case 'error':
      return ended('error');
    default:
      throw new MalformedWebhookError(`jambonz gather reason "${reason}" is not one jambonz documents`);
  }
}

/** The best alternative of a jambonz `speech` object: `{alternatives: [{transcript, confidence}], ...}`. */
function speechOf(payload: Payload): { text: string; confidence?: number } | undefined {
  const speech = payload.speech;
  if (!isObject(speech) || !Array.isArray(speech.alternatives)) return undefined;
  const best: unknown = speech.alternatives[0];
  if (!isObject(best) || typeof best.transcript !== 'string') return undefined;
  return typeof best.confidence === 'number'
    ? { text: best.transcript, confidence: best.confidence }
    : { text: best.transcript };
}

function requiredSpeech(payload: Payload): { text: string; confidence?: number } {
  const speech = speechOf(payload);
  if (speech === undefined)
    throw new MalformedWebhookError('jambonz speechDetected without speech.alternatives[0].transcript');
  return speech;
}

/** play: `reason: playCompleted` (also when it was interrupted), or `status: fail, reason: playFailed`. */
function playEnded(payload: Payload, outcome: OutcomeEvent): CallEvent {
  const reason = optionalString(payload, 'reason');
  if (reason === 'playFailed' || payload.status === 'fail') {
    return outcome('playFailed', { kind: 'playback.ended', status: 'failed' });
  }
  if (reason === 'playCompleted') return outcome(reason, { kind: 'playback.ended', status: 'completed' });
  throw new MalformedWebhookError(`jambonz play actionHook with reason "${reason ?? ''}"`);
}

/**
 * jambonz reports a dial once, when it ends. The dial actionHook yields `call.ended` for the dialed leg,
 * when there was one, and `unbridged` on the calling leg, which marks the end of every dial, bridged or not.
 * `dial_call_status` is the dialed leg's last status: `completed` (with `dial_sip_status` 200) means the
 * dialed party answered, talked and hung up; after a ring timeout jambonz may still report
 * trying/ringing/early-media, and with no status at all no leg was ever created.
 *
 * An answered dial also yields the dialed leg's `call.answered` and the calling leg's `bridged`, first and
 * with the same event ids as the dialed leg's `in-progress` status hook, so a session whose status hook was
 * lost, or came late, still learns the agent answered; when both arrive, the second copy is a duplicate.
 */
function dialEnded(payload: Payload, callState: CallStateEvent, outcome: OutcomeEvent, callSid: string): CallEvent[] {
  const dialedCallSid = optionalString(payload, 'dial_call_sid');
  const dialStatus = optionalString(payload, 'dial_call_status');
  const sipCode = optionalNumber(payload, 'dial_sip_status');
  const cause = dialEndCause(dialStatus, sipCode);
  const events: CallEvent[] = [];
  if (dialedCallSid !== undefined) {
    if (dialWasAnswered(dialStatus, sipCode)) {
      events.push(
        callState(dialedCallSid, 'answered', { kind: 'call.answered' }),
        callState(callSid, `bridged:${dialedCallSid}`, { kind: 'bridged', otherCallId: dialedCallSid }),
      );
    }
    events.push(
      callState(dialedCallSid, 'ended', {
        kind: 'call.ended',
        cause,
        source: 'unknown',
        ...(sipCode !== undefined && { sipCode }),
      }),
    );
  }
  events.push(
    outcome(dialStatus ?? 'no-leg', {
      kind: 'unbridged',
      ...(dialedCallSid !== undefined && { otherCallId: dialedCallSid }),
    }),
  );
  return events;
}

/** `completed` is a dialed leg that was answered and then ended; `in-progress`, one still up when the dial ended. */
function dialWasAnswered(dialStatus: string | undefined, sipCode: number | undefined): boolean {
  if (dialStatus !== 'completed' && dialStatus !== 'in-progress') return false;
  return sipCode === undefined || (sipCode >= 200 && sipCode < 300);
}

function dialEndCause(dialStatus: string | undefined, sipCode: number | undefined): EndCause {
  switch (dialStatus) {
    case 'completed':
    case 'in-progress':
      return EndCause.Normal;
    case 'busy':
      return EndCause.Busy;
    case 'no-answer':
    case 'trying':
    case 'ringing':
    case 'early-media':
      return EndCause.NoAnswer;
    case 'failed':
    case undefined:
      return failedCause(sipCode);
    default:
      throw new MalformedWebhookError(`jambonz dial_call_status "${dialStatus}" is not one jambonz documents`);
  }
}

/**
 * listen ended: `dial_call_duration` is the seconds streamed to the recording socket. Without it the stream
 * never started (the socket refused or failed), so there is no recording.
 */
function recordingEnded(payload: Payload, outcome: OutcomeEvent): CallEvent {
  const seconds = optionalNumber(payload, 'dial_call_duration');
  if (seconds === undefined) {
    return outcome('failed', {
      kind: 'recording.failed',
      reason: 'the audio stream to the recording socket never started',
    });
  }
  return outcome('saved', { kind: 'recording.saved', durationMs: seconds * 1000 });
}

/**
 * enqueue ended: `queue_result` bridged | leave | hangup | error. jambonz starts every enqueue at `hangup`,
 * so an enqueue ended by a Live Call Control redirect reports `hangup` too; a real hangup also brings
 * `call.ended`.
 */
function queueLeft(payload: Payload, outcome: OutcomeEvent): CallEvent {
  const result = requiredString(payload, 'queue_result');
  const reasons: Record<string, QueueLeaveReason> = {
    bridged: 'bridged',
    leave: 'leave',
    hangup: 'hangup',
    error: 'error',
  };
  const reason = reasons[result];
  if (reason === undefined)
    throw new MalformedWebhookError(`jambonz queue_result "${result}" is not one jambonz documents`);
  const waitSeconds = optionalNumber(payload, 'queue_time');
  return outcome(result, {
    kind: 'queue.left',
    queue: queueName(payload),
    reason,
    ...(waitSeconds !== undefined && { waitSeconds }),
  });
}

/** `queue_sid` is jambonz's key `queue:<account_sid>:<name>`; the name is what follows the second colon. */
function queueName(payload: Payload): string {
  const queueSid = requiredString(payload, 'queue_sid');
  const match = /^queue:[^:]*:(.+)$/.exec(queueSid);
  if (match?.[1] === undefined)
    throw new MalformedWebhookError(`jambonz queue_sid "${queueSid}" is not queue:<account>:<name>`);
  return match[1];
}

/**
 * dequeue ended: `dequeue_result` complete (bridged, and the bridge is over) | timeout (the caller was not in
 * the queue) | hangup (the bridge failed). Like dial, it reports only at the end.
 */
function dequeueEnded(payload: Payload, outcome: OutcomeEvent): CallEvent[] {
  const result = requiredString(payload, 'dequeue_result');
  switch (result) {
    case 'complete':
    case 'bridged':
      return [outcome('bridged', { kind: 'bridged' }), outcome('unbridged', { kind: 'unbridged' })];
    case 'timeout':
    case 'hangup':
    case 'error':
      return [outcome(`unbridged:${result}`, { kind: 'unbridged' })];
    default:
      throw new MalformedWebhookError(`jambonz dequeue_result "${result}" is not one jambonz documents`);
  }
}

/** amd actionHook `type`: one call may report a decision, then the beep, then the end of the greeting. */
function machineDetection(payload: Payload, outcome: OutcomeEvent): CallEvent[] {
  const type = requiredString(payload, 'type');
  const detected = (result: MachineDetectionResult): CallEvent[] => [
    outcome(type, { kind: 'machine.detection.ended', result }),
  ];
  switch (type) {
    case 'amd_human_detected':
      return detected('human');
    case 'amd_machine_detected':
      return detected('machine');
    case 'amd_no_speech_detected':
      return detected('silence');
    case 'amd_decision_timeout':
    case 'amd_error':
      return detected('unknown');
    case 'amd_tone_detected':
      return [outcome(type, { kind: 'machine.greeting.ended', beep: true })];
    case 'amd_machine_stopped_speaking':
      return [outcome(type, { kind: 'machine.greeting.ended', beep: false })];
    case 'amd_tone_timeout':
    case 'amd_stopped':
      return []; // bookkeeping: no decision and no greeting end
    default:
      throw new MalformedWebhookError(`jambonz amd type "${type}" is not one jambonz documents`);
  }
}

function direction(payload: Payload): CallDirection {
  const value = payload.direction;
  if (value === 'inbound' || value === 'outbound') return value;
  throw new MalformedWebhookError(`jambonz direction "${String(value)}" is neither inbound nor outbound`);
}

function parsePayload(rawBody: Buffer | string): Payload {
  const parsed = parseJsonBody(rawBody, 'jambonz webhook body');
  if (!isObject(parsed)) throw new MalformedWebhookError('jambonz webhook body is not a JSON object');
  return parsed;
}

function isObject(value: unknown): value is Payload {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function requiredString(payload: Payload, key: string): string {
  const value = payload[key];
  if (typeof value !== 'string' || value.length === 0) {
    throw new MalformedWebhookError(`jambonz webhook without ${key}`);
  }
  return value;
}

function optionalString(payload: Payload, key: string): string | undefined {
  const value = payload[key];
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

function optionalNumber(payload: Payload, key: string): number | undefined {
  const value = payload[key];
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}
