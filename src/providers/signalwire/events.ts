import { createHash } from 'node:crypto';
import type {
  CallDirection,
  CallEvent,
  CallEventBase,
  EndCause,
  GatherEndReason,
  MachineDetectionResult,
} from '../../calls';
import { MalformedWebhookError } from '../types';
import { parseJsonBody } from '../json-body';
import { DOCUMENT_OPS, type DocumentOp } from './documents';
import { legStatusFromWire, type LegStatus } from './update-rules';

/**
 * SignalWire callbacks as `CallEvent`s: status callbacks (`{event_type, timestamp, params}` for
 * `calling.call.*`) and SWML document fetches (`{call, vars, envs, params}`).
 *
 * SignalWire gives no event id, so ids are derived, and from what identifies the fact rather than the
 * delivery, so a redelivered callback gets the same id. A leg's lifecycle events (incoming, ringing,
 * answered, ended) happen once per call: their id is (call id, kind) whichever surface reported them, so
 * a status callback and a document fetch saying "answered" collapse into one. Operation events are
 * (event type, call id, control id, state or result type, kind). The timestamp joins only for detected
 * digits, the one fact that legitimately repeats; elsewhere it is left out because it is "when the event
 * was sent" and a retried delivery may be restamped [unconfirmed].
 */

type Json = Record<string, unknown>;

type Detail<E> = E extends unknown ? Omit<E, keyof CallEventBase> : never;
/** An event without the fields every event shares. */
type EventDetail = Detail<CallEvent>;

function eventId(...parts: Array<string | number | undefined>): string {
  const digest = createHash('sha256')
    .update(parts.map((p) => p ?? '').join('\u001f'))
    .digest('base64url');
  return `sw-${digest.slice(0, 24)}`;
}

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
/** SWML variables arrive as strings; callback fields as numbers. */
const num = (v: unknown): number | undefined => {
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  return typeof n === 'number' && Number.isFinite(n) ? n : undefined;
};
/** Removes keys whose value is undefined, so events stay plain JSON with no empty fields. */
function compact<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

function parseBody(rawBody: Buffer): Json {
  const body = parseJsonBody(rawBody, 'body');
  if (!isObject(body)) throw new MalformedWebhookError('body is not a JSON object');
  return body;
}

function field(object: Json, key: string, path: string): string {
  const value = str(object[key]);
  if (value === undefined) throw new MalformedWebhookError(`missing ${path}`);
  return value;
}

function child(object: Json, key: string, path: string): Json {
  const value = object[key];
  if (!isObject(value)) throw new MalformedWebhookError(`missing ${path} object`);
  return value;
}

interface Scope {
  callId: string;
  occurredAt: string;
  controlId?: string;
}

function event(scope: Scope, eventIdValue: string, detail: EventDetail): CallEvent {
  return compact({ provider: 'signalwire', eventId: eventIdValue, ...scope, ...detail }) as CallEvent;
}

/**
 * Outcomes both surfaces report, a status callback (under SignalWire's control id for a document step) and
 * the step's hand-back (under ours): a saved recording, a finished fax. Their id comes from the fact (the
 * recording's URL; the fax's document, pages and result), so the second report is a duplicate.
 */
function outcomeId(callId: string, detail: EventDetail): string | undefined {
  if (detail.kind === 'recording.saved' && detail.url) return eventId('recording.saved', callId, detail.url);
  if (detail.kind === 'fax.ended') {
    return eventId('fax.ended', callId, detail.documentUrl, detail.pages, detail.resultCode, String(detail.success));
  }
  return undefined;
}

/** A lifecycle event: at most one of each kind per call, so its id is the call's and the kind's. */
function lifecycle(scope: Scope, detail: EventDetail): CallEvent {
  return event(
    { callId: scope.callId, occurredAt: scope.occurredAt },
    eventId('lifecycle', scope.callId, detail.kind),
    detail,
  );
}

const squash = (s: string) => s.toLowerCase().replace(/[-_\s]/g, '');

// end_reason spellings from the SWML connect docs (no_answer, declined), RELAY (noAnswer, maxDuration,
// notFound, abandoned) and `calling.end` (cancel, decline), compared without case, '-' or '_'.
const END_REASONS: Record<string, EndCause> = {
  hangup: 'normal',
  cancel: 'cancelled',
  canceled: 'cancelled',
  cancelled: 'cancelled',
  abandoned: 'cancelled',
  busy: 'busy',
  noanswer: 'no-answer',
  decline: 'rejected',
  declined: 'rejected',
  rejected: 'rejected',
  error: 'failed',
  failed: 'failed',
  maxduration: 'time-limit',
  notfound: 'unreachable',
};

// Outcome-style statuses (compatibility `busy`, `no-answer`, ...) name their cause themselves.
const STATUS_CAUSES: Partial<Record<LegStatus, EndCause>> = {
  failed: 'failed',
  canceled: 'cancelled',
  busy: 'busy',
  'no-answer': 'no-answer',
  completed: 'normal',
};

function endCauseOf(status: LegStatus, endReason: unknown): EndCause {
  const reason = str(endReason);
  if (reason) return END_REASONS[squash(reason)] ?? 'unknown';
  return STATUS_CAUSES[status] ?? 'unknown';
}

/** Caller and callee as a state callback's `device` names them (phone: *_number; sip/webrtc: from/to). */
function parties(device: unknown): { from: string; to: string } {
  const params = isObject(device) && isObject(device.params) ? device.params : {};
  return {
    from: str(params.from_number) ?? str(params.from) ?? '',
    to: str(params.to_number) ?? str(params.to) ?? '',
  };
}

function callState(params: Json, scope: Scope): CallEvent[] {
  const status = legStatusFromWire(field(params, 'call_state', 'params.call_state'));
  switch (status) {
    case undefined:
    case 'ending':
      return [];
    case 'queued': {
      const { from, to } = parties(params.device);
      return [
        lifecycle(
          scope,
          params.direction === 'inbound'
            ? { kind: 'call.incoming', direction: 'inbound', from, to }
            : { kind: 'call.outgoing', from, to },
        ),
      ];
    }
    case 'ringing':
      return [lifecycle(scope, { kind: 'call.ringing' })];
    case 'answered':
      return [lifecycle(scope, { kind: 'call.answered' })];
    default:
      return [
        lifecycle(scope, { kind: 'call.ended', cause: endCauseOf(status, params.end_reason), source: 'unknown' }),
      ];
  }
}

const GATHER_RESULTS: Record<string, GatherEndReason> = { no_input: 'timeout', no_match: 'invalid', error: 'error' };

function collect(params: Json): EventDetail[] {
  if (params.final === false) return []; // a partial result; the final one follows
  const result = child(params, 'result', 'params.result');
  const type = field(result, 'type', 'params.result.type');
  const values = isObject(result.params) ? result.params : {};
  if (type === 'digit') return [{ kind: 'gather.ended', reason: 'complete', digits: str(values.digits) ?? '' }];
  if (type === 'speech') {
    const speech = compact({ text: str(values.text) ?? '', confidence: num(values.confidence) });
    return [{ kind: 'gather.ended', reason: 'complete', digits: '', speech }];
  }
  const reason = GATHER_RESULTS[type];
  return reason ? [{ kind: 'gather.ended', reason, digits: '' }] : []; // start_of_input, finished: not an end
}

function record(params: Json, state: string): EventDetail[] {
  // RELAY puts the result beside `state`; SWML record_call docs nest it under `record`: read both.
  const nested = isObject(params.record) ? params.record : {};
  const read = (key: string) => params[key] ?? nested[key];
  if (state === 'finished') {
    const seconds = num(read('duration'));
    return [
      compact({
        kind: 'recording.saved' as const,
        url: str(read('url')),
        recordingId: str(read('recording_id')),
        durationMs: seconds === undefined ? undefined : Math.round(seconds * 1000),
      }),
    ];
  }
  if (state === 'no_input' || state === 'error') return [{ kind: 'recording.failed', reason: state }];
  return []; // recording, paused
}

const MACHINE_RESULTS: Record<string, MachineDetectionResult> = {
  HUMAN: 'human',
  MACHINE: 'machine',
  UNKNOWN: 'unknown',
  FAX: 'fax',
  ERROR: 'unknown',
};

/** `calling.call.refer` states before the outcome (the full set is unconfirmed; the rest end the REFER). */
const REFER_PENDING = new Set(['in_progress', 'inProgress', 'referring', 'trying']);

function detect(params: Json, scope: Scope, eventType: string, timestamp: number): CallEvent[] {
  const config = child(params, 'detect', 'params.detect');
  const type = field(config, 'type', 'params.detect.type');
  const values = isObject(config.params) ? config.params : {};
  const signal = str(values.event) ?? '';
  const op = (discriminator: string, detail: EventDetail) =>
    event(scope, eventId(eventType, scope.callId, scope.controlId, discriminator, detail.kind), detail);
  if (type === 'machine') {
    const events: CallEvent[] = [];
    const result = MACHINE_RESULTS[signal.toUpperCase()];
    if (result) events.push(op(signal.toUpperCase(), { kind: 'machine.detection.ended', result }));
    // The greeting is over when SignalWire hears the beep or says the machine is READY for a message.
    if (values.beep === true || signal === 'READY') {
      events.push(op('greeting', { kind: 'machine.greeting.ended', beep: values.beep === true }));
    }
    return events; // NOT_READY, finished: lifecycle only
  }
  if (type === 'fax')
    return /^(CED|CNG)$/i.test(signal) ? [op('fax', { kind: 'machine.detection.ended', result: 'fax' })] : [];
  if (type === 'digit' && /^[0-9A-D*#]$/i.test(signal)) {
    // The same digit can be pressed twice: only the timestamp tells the presses apart.
    return [
      event(scope, eventId(eventType, scope.callId, scope.controlId, signal, timestamp), {
        kind: 'dtmf',
        digit: signal,
      }),
    ];
  }
  return [];
}

function fax(params: Json): { discriminator: string; detail: EventDetail } | undefined {
  const fax = child(params, 'fax', 'params.fax');
  const type = field(fax, 'type', 'params.fax.type');
  const values = isObject(fax.params) ? fax.params : {};
  if (type === 'page') {
    const page = num(values.number);
    const direction = values.direction;
    if (page === undefined) throw new MalformedWebhookError('missing params.fax.params.number');
    if (direction !== 'send' && direction !== 'receive')
      throw new MalformedWebhookError('params.fax.params.direction is not send or receive');
    return { discriminator: `page:${page}`, detail: { kind: 'fax.page', page, direction } };
  }
  if (type !== 'finished' && type !== 'error') return undefined;
  const detail = compact({
    kind: 'fax.ended' as const,
    success: type === 'finished' && values.success === true,
    pages: num(values.pages) ?? 0,
    resultCode: str(values.result) ?? num(values.result)?.toString(),
    resultText: str(values.result_text),
    remoteIdentity: str(values.remote_identity),
    documentUrl: str(values.document),
  });
  return { discriminator: type, detail };
}

function operation(eventType: string, params: Json, scope: Scope, timestamp: number): CallEvent[] {
  const emit = (discriminator: string, ...details: EventDetail[]) =>
    details.map((detail) =>
      event(
        scope,
        outcomeId(scope.callId, detail) ??
          eventId(eventType, scope.callId, scope.controlId, discriminator, detail.kind),
        detail,
      ),
    );
  const state = () => field(params, 'state', 'params.state');
  switch (eventType) {
    case 'calling.call.play': {
      const s = state();
      if (s === 'playing') return emit(s, { kind: 'playback.started' });
      if (s === 'finished') return emit(s, { kind: 'playback.ended', status: 'completed' });
      if (s === 'error') return emit(s, { kind: 'playback.ended', status: 'failed' });
      return []; // paused
    }
    case 'calling.call.collect': {
      const result = isObject(params.result) ? str(params.result.type) : undefined;
      return emit(result ?? '', ...collect(params));
    }
    case 'calling.call.record': {
      const s = state();
      return emit(s, ...record(params, s));
    }
    case 'calling.call.detect':
      return detect(params, scope, eventType, timestamp);
    case 'calling.call.tap': {
      const s = state();
      if (s === 'tapping') return emit(s, { kind: 'fork.started' });
      return s === 'finished' ? emit(s, { kind: 'fork.stopped' }) : [];
    }
    case 'calling.call.stream': {
      const s = state();
      const streamUrl = str(params.url);
      if (s === 'streaming') return emit(s, compact({ kind: 'stream.started' as const, streamUrl }));
      return s === 'finished' ? emit(s, compact({ kind: 'stream.stopped' as const, streamUrl })) : [];
    }
    case 'calling.call.fax': {
      const outcome = fax(params);
      return outcome ? emit(outcome.discriminator, outcome.detail) : [];
    }
    case 'calling.call.connect': {
      const s = field(params, 'connect_state', 'params.connect_state');
      const otherCallId = isObject(params.peer) ? str(params.peer.call_id) : undefined;
      // A SWML connect has no control_id: the peer tells a call's second bridge (a transfer) from its first.
      const discriminator = otherCallId ? `${s}:${otherCallId}` : s;
      if (s === 'connected') return emit(discriminator, compact({ kind: 'bridged' as const, otherCallId }));
      // `failed` has no neutral event: the hand-back after the connect step reports the outcome.
      return s === 'disconnected' ? emit(discriminator, compact({ kind: 'unbridged' as const, otherCallId })) : [];
    }
    // Detection and media (issue 10 item 4): a REFER's end (`success`, or a failure state).
    case 'calling.call.refer': {
      const s = state();
      if (REFER_PENDING.has(s)) return [];
      const sip = num(params.sip_notify_response_code) ?? num(params.sip_refer_response_code);
      return emit(s, compact({ kind: 'refer.ended' as const, success: s === 'success', sipCode: sip }));
    }
    default:
      return []; // denoise, user events: nothing a flow waits on
  }
}

/**
 * Turns a status callback body into events. Unknown event types and states give no events (SignalWire
 * adds them over time); a body without the fields every callback has throws `MalformedWebhookError`.
 */
export function normaliseStatusCallback(rawBody: Buffer): CallEvent[] {
  const body = parseBody(rawBody);
  const eventType = field(body, 'event_type', 'event_type');
  if (!eventType.startsWith('calling.call.')) return []; // transcripts, AI: no call events
  const params = child(body, 'params', 'params');
  const timestamp = num(body.timestamp);
  if (timestamp === undefined) throw new MalformedWebhookError('missing timestamp (Unix seconds)');
  const scope: Scope = {
    callId: field(params, 'call_id', 'params.call_id'),
    occurredAt: new Date(timestamp * 1000).toISOString(),
    controlId: str(params.control_id),
  };
  return eventType === 'calling.call.state' ? callState(params, scope) : operation(eventType, params, scope, timestamp);
}

/** What the gateway needs from a SWML document fetch. */
export interface DocumentFetch {
  callId: string;
  direction: CallDirection;
  from: string;
  to: string;
  /** SignalWire's state of the call when it fetched (`created`, `answered`, ...). */
  callState: string;
  /** The document step this fetch hands back from, when it is one of ours (see documents.ts). */
  step?: { key: string; op: DocumentOp };
  events: CallEvent[];
}

const PROMPT_RESULTS: Record<string, GatherEndReason> = { no_input: 'timeout', no_match: 'invalid', failed: 'error' };

/** The outcome a finished document step left in the call's SWML variables. */
function stepOutcome(op: DocumentOp, vars: Json): EventDetail[] {
  switch (op) {
    case 'gather': {
      const result = str(vars.prompt_result);
      const value = str(vars.prompt_value) ?? '';
      if (result === 'match_digits') return [{ kind: 'gather.ended', reason: 'complete', digits: value }];
      if (result === 'match_speech') {
        const speech = compact({ text: value, confidence: num(vars.prompt_speech_confidence) });
        return [{ kind: 'gather.ended', reason: 'complete', digits: '', speech }];
      }
      return [{ kind: 'gather.ended', reason: (result && PROMPT_RESULTS[result]) || 'error', digits: '' }];
    }
    case 'recordStart':
      return vars.record_result === 'success'
        ? [compact({ kind: 'recording.saved' as const, url: str(vars.record_url) })]
        : [{ kind: 'recording.failed', reason: str(vars.record_result) ?? 'unknown' }];
    case 'joinConference':
      // join_conference returns once the call has left the conference (`completed`), or never got in (`failed`,
      // `canceled`, ...): either way the call is out of it, and the flow goes on.
      return [{ kind: 'conference.left' }];
    case 'bridge':
      // connect returns once the bridge is over; a failed connect has no neutral event.
      return vars.connect_result === 'connected' ? [{ kind: 'unbridged' }] : [];
    case 'sendFax':
    case 'receiveFax': {
      const prefix = op === 'sendFax' ? 'send_fax' : 'receive_fax';
      return [
        compact({
          kind: 'fax.ended' as const,
          success: vars[`${prefix}_result`] === 'success',
          pages: num(vars[`${prefix}_pages`]) ?? 0,
          resultCode: str(vars[`${prefix}_result_code`]) ?? num(vars[`${prefix}_result_code`])?.toString(),
          resultText: str(vars[`${prefix}_result_text`]),
          remoteIdentity: str(vars[`${prefix}_remote_identity`]),
          documentUrl: str(vars[`${prefix}_document`]),
        }),
      ];
    }
    default:
      return []; // answer: the call state says answered; hangup, reject, sendDtmf: nothing to report
  }
}

function handBackStep(params: unknown): { key: string; op: DocumentOp } | undefined {
  if (!isObject(params)) return undefined;
  const op = params.op;
  const key = str(params.step);
  return key && (DOCUMENT_OPS as readonly unknown[]).includes(op) ? { key, op: op as DocumentOp } : undefined;
}

/**
 * Reads a SWML document fetch: the inbound call's first request, a dial's `url`, or a hand-back from one
 * of our documents. `receivedAt` (ISO time) dates the events, since the body carries no time.
 */
export function normaliseDocumentRequest(rawBody: Buffer, receivedAt: string): DocumentFetch {
  const body = parseBody(rawBody);
  const call = child(body, 'call', 'call');
  const callId = field(call, 'call_id', 'call.call_id');
  const callState = field(call, 'call_state', 'call.call_state');
  const direction = call.direction;
  if (direction !== 'inbound' && direction !== 'outbound')
    throw new MalformedWebhookError('call.direction is not inbound or outbound');
  const from = str(call.from_number) ?? str(call.from) ?? '';
  const to = str(call.to_number) ?? str(call.to) ?? '';
  const scope: Scope = { callId, occurredAt: receivedAt };

  const events: CallEvent[] = [];
  if (direction === 'inbound') events.push(lifecycle(scope, { kind: 'call.incoming', direction, from, to }));
  if (legStatusFromWire(callState) === 'answered') events.push(lifecycle(scope, { kind: 'call.answered' }));
  const step = handBackStep(body.params);
  if (step) {
    const vars = isObject(body.vars) ? body.vars : {};
    for (const detail of stepOutcome(step.op, vars)) {
      const id = outcomeId(callId, detail) ?? eventId('swml-step', callId, step.key, detail.kind);
      events.push(event({ ...scope, controlId: step.key }, id, detail));
    }
  }
  return compact({ callId, direction, from, to, callState, step, events });
}
