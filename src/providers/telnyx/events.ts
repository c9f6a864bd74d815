import type {
  CallEvent,
  EndCause,
  GatherEndReason,
  HangupSource,
  MachineDetectionResult,
  PlaybackEndStatus,
  QueueLeaveReason,
} from '../../calls';
import { MalformedWebhookError, type RoutedEvents } from '../types';
import { decodeClientState } from './client-state';
import { parseJsonBody } from '../json-body';
import { telnyxFaxEvent, telnyxReceivedFax } from './fax';

/** Telnyx webhook envelope: `{data:{record_type:'event', event_type, id, occurred_at, payload}, meta?}`. */
interface TelnyxEnvelope {
  data: { event_type: string; id: string; occurred_at: string; payload: Record<string, unknown> };
}

function parseEnvelope(rawBody: Buffer): TelnyxEnvelope {
  const body = parseJsonBody(rawBody, 'body');
  const data = (body as { data?: unknown } | null)?.data as Record<string, unknown> | undefined;
  if (!data || typeof data !== 'object') throw new MalformedWebhookError('missing "data" object');
  for (const field of ['event_type', 'id', 'occurred_at'] as const) {
    if (typeof data[field] !== 'string' || data[field] === '') throw new MalformedWebhookError(`missing data.${field}`);
  }
  if (!data.payload || typeof data.payload !== 'object') throw new MalformedWebhookError('missing data.payload');
  return body as TelnyxEnvelope;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

const HANGUP_CAUSES: Record<string, EndCause> = {
  normal_clearing: 'normal',
  originator_cancel: 'cancelled',
  call_rejected: 'rejected',
  user_busy: 'busy',
  timeout: 'no-answer',
  no_answer: 'no-answer',
  time_limit: 'time-limit',
  not_found: 'unreachable',
  unspecified: 'unknown',
};

const GATHER_STATUSES: Record<string, GatherEndReason> = {
  valid: 'complete',
  invalid: 'invalid',
  call_hangup: 'hangup',
  cancelled: 'cancelled',
  cancelled_amd: 'cancelled',
  timeout: 'timeout',
};

const PLAYBACK_STATUSES: Record<string, PlaybackEndStatus> = {
  completed: 'completed',
  call_hangup: 'hangup',
  cancelled: 'cancelled',
  cancelled_amd: 'cancelled',
  file_not_found: 'failed',
  failed: 'failed',
  unknown: 'failed',
};

const QUEUE_REASONS: Record<string, QueueLeaveReason> = {
  bridged: 'bridged',
  'bridging-in-process': 'bridged',
  hangup: 'hangup',
  leave: 'leave',
  timeout: 'timeout',
};

const MACHINE_RESULTS: Record<string, MachineDetectionResult> = {
  human: 'human',
  human_residence: 'human',
  human_business: 'human',
  machine: 'machine',
  fax_detected: 'fax',
  silence: 'silence',
  not_sure: 'unknown',
};

function hangupSource(value: unknown): HangupSource {
  return value === 'caller' || value === 'callee' ? value : 'unknown';
}

/**
 * Turns one Telnyx webhook into normalised events. Unknown event types yield no events (Telnyx adds types
 * over time; acknowledging them is right). Throws `MalformedWebhookError` on a body that is not a Telnyx event.
 */
export function normaliseTelnyxWebhook(rawBody: Buffer): RoutedEvents {
  const { data } = parseEnvelope(rawBody);
  const p = data.payload;
  const owner = decodeClientState(p.client_state);
  if (data.event_type.startsWith('fax.')) {
    // A fax is not a call: its id stands for the call id, and is what cancels it (the event's control id).
    const faxId = str(p.fax_id);
    if (!faxId) throw new MalformedWebhookError(`${data.event_type} names no fax_id`);
    const base = { provider: 'telnyx' as const, eventId: data.id, callId: faxId, occurredAt: data.occurred_at };
    const event = telnyxFaxEvent(data.event_type, { ...base, controlId: faxId }, p);
    // A received fax names no workflow of ours: its events go to (and start) the receive-fax workflow.
    const receivedFax = telnyxReceivedFax(p);
    return { ownerWorkflowId: owner?.wf, events: event ? [event] : [], ...(receivedFax ? { receivedFax } : {}) };
  }
  const base = {
    provider: 'telnyx' as const,
    eventId: data.id,
    callId: str(p.call_control_id) ?? '',
    legId: str(p.call_leg_id),
    occurredAt: data.occurred_at,
    controlId: owner?.k,
  };
  const event = ((): CallEvent | undefined => {
    switch (data.event_type) {
      case 'call.initiated': {
        const from = str(p.from) ?? '';
        const to = str(p.to) ?? '';
        return p.direction === 'outgoing'
          ? { ...base, kind: 'call.outgoing', from, to }
          : { ...base, kind: 'call.incoming', direction: 'inbound', from, to };
      }
      case 'call.answered':
        return { ...base, kind: 'call.answered' };
      case 'call.hangup': {
        const sip = Number(p.sip_hangup_cause);
        return {
          ...base,
          kind: 'call.ended',
          cause: HANGUP_CAUSES[String(p.hangup_cause)] ?? 'unknown',
          source: hangupSource(p.hangup_source),
          ...(Number.isInteger(sip) ? { sipCode: sip } : {}),
        };
      }
      case 'call.dtmf.received':
        return str(p.digit) ? { ...base, kind: 'dtmf', digit: String(p.digit) } : undefined;
      case 'call.gather.ended':
        return {
          ...base,
          kind: 'gather.ended',
          reason: GATHER_STATUSES[String(p.status)] ?? 'error',
          digits: str(p.digits) ?? '',
        };
      case 'call.playback.started':
        return { ...base, kind: 'playback.started' };
      case 'call.playback.ended':
        return { ...base, kind: 'playback.ended', status: PLAYBACK_STATUSES[String(p.status)] ?? 'completed' };
      case 'call.speak.started':
        return { ...base, kind: 'speak.started' };
      case 'call.speak.ended':
        return { ...base, kind: 'speak.ended', status: PLAYBACK_STATUSES[String(p.status)] ?? 'completed' };
      case 'call.recording.saved': {
        const urls = (p.public_recording_urls ?? p.recording_urls) as { mp3?: string; wav?: string } | undefined;
        const started = Date.parse(String(p.recording_started_at));
        const ended = Date.parse(String(p.recording_ended_at));
        return {
          ...base,
          kind: 'recording.saved',
          url: str(urls?.mp3) ?? str(urls?.wav),
          recordingId: str(p.recording_id),
          ...(Number.isFinite(started) && Number.isFinite(ended) ? { durationMs: Math.max(0, ended - started) } : {}),
        };
      }
      case 'call.recording.error':
        return { ...base, kind: 'recording.failed', reason: str(p.reason) ?? 'unknown' };
      case 'call.bridged':
        return { ...base, kind: 'bridged' };
      case 'call.enqueued':
        return {
          ...base,
          kind: 'queue.joined',
          queue: str(p.queue) ?? '',
          ...(typeof p.current_position === 'number' ? { position: p.current_position } : {}),
        };
      case 'call.dequeued':
        return {
          ...base,
          kind: 'queue.left',
          queue: str(p.queue) ?? '',
          reason: QUEUE_REASONS[String(p.reason)] ?? 'error',
          ...(typeof p.wait_time_secs === 'number' ? { waitSeconds: p.wait_time_secs } : {}),
        };
      case 'call.machine.detection.ended':
      case 'call.machine.premium.detection.ended':
        return { ...base, kind: 'machine.detection.ended', result: MACHINE_RESULTS[String(p.result)] ?? 'unknown' };
      case 'call.machine.greeting.ended':
      case 'call.machine.premium.greeting.ended':
        return { ...base, kind: 'machine.greeting.ended', beep: p.result === 'beep_detected' };
      case 'call.fork.started':
        return { ...base, kind: 'fork.started' };
      case 'call.fork.stopped':
        return { ...base, kind: 'fork.stopped' };
      case 'streaming.started':
        return { ...base, kind: 'stream.started', streamUrl: str(p.stream_url) };
      case 'streaming.stopped':
        return { ...base, kind: 'stream.stopped', streamUrl: str(p.stream_url) };
      // Detection and media (issue 10 item 4).
      case 'streaming.failed':
        return { ...base, kind: 'stream.failed', reason: str(p.failure_reason) ?? 'unknown' };
      case 'call.refer.completed':
      case 'call.refer.failed': {
        const sip = Number(p.sip_notify_response);
        return {
          ...base,
          kind: 'refer.ended',
          success: data.event_type === 'call.refer.completed',
          ...(Number.isInteger(sip) ? { sipCode: sip } : {}),
        };
      }
      default:
        return undefined;
    }
  })();
  if (event && !event.callId && !event.legId)
    throw new MalformedWebhookError(`${data.event_type} names no call_control_id or call_leg_id`);
  return { ownerWorkflowId: owner?.wf, events: event ? [event] : [] };
}
