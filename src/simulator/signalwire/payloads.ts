import type { StatusCallbackBody } from './delivery';
import type { Leg } from './leg';

/**
 * The JSON SignalWire sends and answers with: the SWML fetch body (spec: `InboundCallWebhookPayload`),
 * the status-callback envelope (research notes §3) with `calling.call.state` params (§5), and the REST
 * responses (`CallLeg`, `RelayVoiceLog`).
 */

export interface Space {
  projectId: string;
  spaceId: string;
}

const E164 = /^\+[1-9]\d{1,14}$/;
export const isPhoneNumber = (address: string) => E164.test(address);

const deviceType = (leg: Leg): 'phone' | 'sip' => (isPhoneNumber(leg.from) && isPhoneNumber(leg.to) ? 'phone' : 'sip');

/** How a callback names a leg's endpoints: phone numbers as `*_number`, SIP addresses as `from`/`to`. */
export function device(leg: Leg) {
  return deviceType(leg) === 'phone'
    ? { type: 'phone' as const, params: { from_number: leg.from, to_number: leg.to } }
    : { type: 'sip' as const, params: { from: leg.from, to: leg.to } };
}

export function statusCallback(
  space: Space,
  leg: Leg,
  eventType: string,
  params: Record<string, unknown>,
): StatusCallbackBody {
  return {
    event_type: eventType,
    event_channel: leg.channel,
    timestamp: Date.now() / 1000,
    project_id: space.projectId,
    space_id: space.spaceId,
    params: { call_id: leg.callId, node_id: leg.nodeId, segment_id: leg.segmentId, ...params },
  };
}

const epochMs = (date: Date | undefined) => (date ? date.getTime() : undefined);

/** `calling.call.state` params for the leg's current state. */
export function callStateParams(leg: Leg): Record<string, unknown> {
  const peer = leg.bridge ? (leg.bridge.owner === leg ? leg.bridge.peer : leg.bridge.owner) : undefined;
  const params: Record<string, unknown> = {
    call_state: leg.state,
    direction: leg.direction,
    device: device(leg),
    created_by: leg.parent ? 'connect' : leg.direction === 'outbound' ? 'dial' : 'receive',
    start_time: epochMs(leg.createdAt),
    answer_time: epochMs(leg.answeredAt),
    end_time: leg.state === 'ended' ? epochMs(leg.endedAt) : undefined,
    end_reason: leg.state === 'ended' ? leg.endReason : undefined,
    parent: leg.parent
      ? { device_type: deviceType(leg.parent), node_id: leg.parent.nodeId, call_id: leg.parent.callId }
      : undefined,
    peer: peer ? { call_id: peer.callId, node_id: peer.nodeId } : undefined,
  };
  for (const key of Object.keys(params)) if (params[key] === undefined) delete params[key];
  return params;
}

/** The body of a SWML document fetch; `params` are the `transfer`/`execute` step's. */
export function documentFetchBody(space: Space, leg: Leg, params: Record<string, unknown>) {
  const phone = deviceType(leg) === 'phone';
  return {
    call: {
      call_id: leg.callId,
      node_id: leg.nodeId,
      segment_id: leg.segmentId,
      call_state: leg.state,
      direction: leg.direction,
      type: deviceType(leg),
      from: leg.from,
      to: leg.to,
      ...(phone ? { from_number: leg.from, to_number: leg.to } : {}),
      headers: [],
      ...(leg.parent
        ? { parent: { device_type: deviceType(leg.parent), call_id: leg.parent.callId, node_id: leg.parent.nodeId } }
        : {}),
      project_id: space.projectId,
      space_id: space.spaceId,
    },
    vars: { ...leg.vars },
    envs: { ...leg.envs },
    params,
  };
}

/** The Calling API's leg status (`Calling.CallResponseStatus`); a dial just accepted is `queued`. */
function responseStatus(leg: Leg): string {
  if (leg.state !== 'ended') return leg.state;
  if (leg.endReason === 'cancel') return 'canceled';
  return leg.answeredAt ? 'completed' : 'failed';
}

function durations(leg: Leg) {
  if (!leg.answeredAt) return { duration: null, duration_ms: null, billing_ms: null };
  const ms = (leg.endedAt ?? new Date()).getTime() - leg.answeredAt.getTime();
  return { duration: Math.round(ms / 1000), duration_ms: ms, billing_ms: ms };
}

function legBase(leg: Leg) {
  return {
    id: leg.callId,
    from: leg.from,
    to: leg.to,
    source: 'realtime_api',
    url: leg.documentUrl ?? null,
    charge: 0,
    created_at: leg.createdAt.toISOString(),
    charge_details: [],
    type: deviceType(leg) === 'phone' ? 'relay_pstn_call' : 'relay_sip_call',
    parent_id: leg.parent?.callId ?? null,
    ...durations(leg),
  };
}

/** The 200 body of every Calling API command: the leg (`Calling.CallLeg`). */
export function callLeg(leg: Leg, status = responseStatus(leg)) {
  const direction = leg.direction === 'inbound' ? 'inbound' : leg.parent ? 'outbound' : 'outbound-api';
  return { ...legBase(leg), direction, status };
}

/** `GET /api/voice/logs/{id}` (`Voice.RelayVoiceLog`), with the outcome-style statuses voice logs use. */
export function voiceLog(leg: Leg) {
  const direction = leg.direction === 'inbound' ? 'inbound' : leg.parent ? 'outbound-dial' : 'outbound-api';
  return { ...legBase(leg), direction, status: voiceLogStatus(leg) };
}

function voiceLogStatus(leg: Leg): string {
  switch (leg.state) {
    case 'created':
      return 'queued';
    case 'ringing':
      return 'ringing';
    case 'answered':
      return 'in-progress';
    case 'ending':
      return 'ending';
    case 'ended':
      if (leg.endReason === 'busy') return 'busy';
      if (leg.endReason === 'noAnswer') return 'no-answer';
      if (leg.endReason === 'cancel') return 'canceled';
      if (leg.endReason === 'error') return 'failed';
      return 'completed';
  }
}
