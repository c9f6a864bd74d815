import type { CallCommand, GatherOptions, PlaceCallRequest, PlacedCall } from '../../calls';
import { isMediaCommand } from '../../calls/media';
import { unsupported } from '../ops';
import type { CarrierRequest } from '../types';
import { encodeClientState } from './client-state';
import { telnyxMediaRequest } from './media';
import { TELNYX_NO_CONFERENCE, TELNYX_NO_LEG_MUTE } from './ops';
import { telnyxSupervisorDialFields, telnyxSwitchSupervisorRoleRequest } from './supervisor';

/**
 * Provider-neutral commands as Telnyx Call Control requests. Every command carries `command_id` (the
 * operation's command key: Telnyx ignores a repeat for the same leg within 60 s, so a retried activity
 * does not repeat a side effect) and `client_state` naming the owning workflow (so every later webhook of
 * the leg routes back to it).
 */

export interface TelnyxCommandOptions {
  /** The Call Control App id; required to dial. */
  connectionId: string;
  /** TTS voice, `<Provider>.<Model>.<VoiceId>` or a provider name. */
  voice: string;
}

const action = (callId: string, name: string) => `/calls/${encodeURIComponent(callId)}/actions/${name}`;

function gatherFields(g: GatherOptions) {
  return {
    minimum_digits: g.minDigits ?? 1,
    maximum_digits: g.maxDigits ?? 1,
    timeout_millis: g.timeoutMs ?? 5000,
    inter_digit_timeout_millis: g.interDigitTimeoutMs ?? 3000,
    terminating_digit: g.terminator ?? '#',
    valid_digits: g.validDigits ?? '0123456789*#',
  };
}

export function telnyxCommandRequest(command: CallCommand, options: TelnyxCommandOptions): CarrierRequest {
  const tags = {
    client_state: encodeClientState({ wf: command.ownerWorkflowId, k: command.commandKey }),
    command_id: command.commandKey,
  };
  const post = (name: string, body: Record<string, unknown> = {}): CarrierRequest => ({
    method: 'POST',
    path: action(command.callId, name),
    body: { ...body, ...tags },
    operation: name,
  });
  if (isMediaCommand(command)) return telnyxMediaRequest(command, post);
  switch (command.op) {
    case 'answer':
      return post('answer');
    case 'hangup':
      return post('hangup');
    case 'reject':
      return post('reject', { cause: command.reason === 'busy' ? 'USER_BUSY' : 'CALL_REJECTED' });
    case 'play':
      return post('playback_start', { audio_url: command.url, ...(command.loop ? { loop: command.loop } : {}) });
    case 'say':
      return post('speak', {
        payload: command.text,
        voice: command.voice ?? options.voice,
        ...(command.language ? { language: command.language } : {}),
      });
    case 'stopPlayback':
      return post('playback_stop', { stop: 'all' });
    case 'gather': {
      // One try: the flow owns retries (Telnyx would otherwise replay the prompt up to 3 times).
      const fields = { ...gatherFields(command), maximum_tries: 1 };
      if (!command.prompt) {
        const { maximum_tries: _tries, ...plain } = fields;
        return post('gather', plain);
      }
      if ('say' in command.prompt) {
        return post('gather_using_speak', {
          ...fields,
          payload: command.prompt.say,
          voice: command.prompt.voice ?? options.voice,
          ...(command.prompt.language ? { language: command.prompt.language } : {}),
        });
      }
      return post('gather_using_audio', { ...fields, audio_url: command.prompt.play });
    }
    case 'stopGather':
      return post('gather_stop');
    case 'recordStart':
      return post('record_start', {
        format: command.format ?? 'mp3',
        channels: command.channels ?? 'single',
        play_beep: command.beep ?? true,
        max_length: command.maxSeconds ?? 120,
        timeout_secs: command.silenceSeconds ?? 5,
      });
    case 'recordStop':
      return post('record_stop');
    case 'recordPause':
      return post('record_pause');
    case 'recordResume':
      return post('record_resume');
    case 'bridge':
      return post('bridge', {
        call_control_id: command.otherCallId,
        ...(command.keepOnUnbridge ? { park_after_unbridge: 'self' } : {}),
      });
    case 'transfer':
      return post('transfer', {
        to: command.to,
        ...(command.from ? { from: command.from } : {}),
        ...(command.timeoutSeconds ? { timeout_secs: command.timeoutSeconds } : {}),
        // The new leg's webhooks route back to this session too.
        target_leg_client_state: tags.client_state,
      });
    case 'sendDtmf':
      return post('send_dtmf', { digits: command.digits });
    case 'enqueue':
      return post('enqueue', {
        queue_name: command.queue,
        ...(command.maxWaitSeconds ? { max_wait_time_secs: command.maxWaitSeconds } : {}),
      });
    case 'leaveQueue':
      return post('leave_queue');
    case 'forkStart':
      return post('fork_start', {
        ...(command.rx ? { rx: command.rx } : {}),
        ...(command.tx ? { tx: command.tx } : {}),
      });
    case 'forkStop':
      return post('fork_stop');
    case 'clientStateUpdate':
      // The only action without command_id (Telnyx spec).
      return {
        method: 'PUT',
        path: action(command.callId, 'client_state_update'),
        body: { client_state: tags.client_state },
        operation: 'client_state_update',
      };
    case 'connect':
    case 'redirect':
      // Document-carrier steps: on Telnyx the session dials and bridges with separate commands.
      throw unsupported('telnyx', command.op, 'a document-carrier step');
    case 'mute':
    case 'unmute':
      throw unsupported('telnyx', command.op, TELNYX_NO_LEG_MUTE);
    case 'sendFax':
    case 'receiveFax':
      throw unsupported(
        'telnyx',
        command.op,
        'a Telnyx fax is a Programmable Fax of its own (POST /faxes), not a step of a call',
      );
    // supervisor controls:
    case 'switchSupervisorRole':
      return telnyxSwitchSupervisorRoleRequest(command.callId, command.role);
    case 'moveToConference':
    case 'rejoinConference':
      // Telnyx supervises the agent's leg itself (supervise_call_control_id): no conference needed.
      throw unsupported('telnyx', command.op, TELNYX_NO_CONFERENCE);
    // conferences:
    case 'joinConference':
    case 'conferenceHold':
    case 'conferenceUnhold':
      throw unsupported('telnyx', command.op, TELNYX_NO_CONFERENCE);
  }
}

export function telnyxPlaceCallRequest(request: PlaceCallRequest, options: TelnyxCommandOptions): CarrierRequest {
  if (request.joinRoom) throw unsupported('telnyx', 'a leg dialed into a conference', TELNYX_NO_CONFERENCE);
  return {
    method: 'POST',
    path: '/calls',
    operation: 'dial',
    body: {
      connection_id: options.connectionId,
      to: request.to,
      from: request.from,
      timeout_secs: request.timeoutSeconds ?? 30,
      ...(request.detectMachine ? { answering_machine_detection: 'detect' } : {}),
      ...(request.supervise ? telnyxSupervisorDialFields(request.supervise) : {}),
      client_state: encodeClientState({ wf: request.ownerWorkflowId, k: request.commandKey }),
      // "Telnyx will ignore other Dial commands with the same command_id."
      command_id: request.commandKey,
    },
  };
}

export function telnyxPlacedCall(responseBody: unknown): PlacedCall {
  const callId = (responseBody as { data?: { call_control_id?: unknown } } | undefined)?.data?.call_control_id;
  if (typeof callId !== 'string' || !callId) throw new Error('Telnyx dial response has no data.call_control_id');
  return { callId };
}

export function telnyxCallStatusRequest(callId: string): CarrierRequest {
  return { method: 'GET', path: `/calls/${encodeURIComponent(callId)}`, operation: 'retrieve_call_status' };
}

export function telnyxCallIsAlive(responseBody: unknown): boolean {
  return (responseBody as { data?: { is_alive?: unknown } } | undefined)?.data?.is_alive === true;
}
