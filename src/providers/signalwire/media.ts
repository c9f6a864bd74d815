import { ErrorType } from '../../calls/errors';
import type { MediaCommand } from '../../calls/media';
import { wireTrack } from '../../calls/media';
import { CarrierError } from '../errors';
import type { CarrierRequest } from '../types';
import { CALLS_PATH, callingRequest, type CallingCommand, type ControlParams } from './commands';

/**
 * Detection and media operations as Calling API commands (issue 10 item 4). Each is one `calling.*` command;
 * those that start something run under the operation's command key as `control_id` and report to the
 * session's status URL (`calling.call.detect`, `calling.call.stream`, `calling.call.refer`). Denoise, live
 * transcription and user events report nothing to it.
 */

/** `calling.live_transcribe` (not in CallingParams: its one param is an action, not a control id). */
export type LiveTranscribeAction =
  | { start: { lang: string; direction: Array<'local-caller' | 'remote-caller'>; webhook?: string } }
  | 'stop';

/** The shared parts of every command: the operation's own `control_id`, the status URL, and the stop target. */
export interface MediaContext {
  control_id: string;
  status_url: string;
  /** The `control_id` of the running operation a stop, pause, resume or volume change acts on. */
  target: (operation: CallingCommand) => ControlParams;
}

/** A SIP URI; `calling.refer` refers to SIP endpoints only. */
const SIP_URI = /^sips?:\S+@\S+$/i;

export function signalwireMediaRequest(command: MediaCommand, context: MediaContext): CarrierRequest {
  const { callId } = command;
  const { control_id, status_url, target } = context;
  switch (command.op) {
    case 'detectMachine':
      // calling.call.detect reports HUMAN | MACHINE | UNKNOWN | FAX, then READY (greeting over) or a beep.
      return callingRequest('calling.detect', callId, {
        control_id,
        detect: { type: 'machine', params: { detect_message_end: command.waitForBeep ?? true } },
        timeout: command.timeoutSeconds ?? 30,
        status_url,
      });
    case 'streamStart':
      if (!/^wss:\/\//i.test(command.url))
        throw invalid(
          'calling.stream',
          `the stream URL must be wss:// (SignalWire refuses ws://), got "${command.url}"`,
        );
      return callingRequest('calling.stream', callId, {
        control_id,
        url: command.url,
        track: wireTrack(command.track),
        status_url,
      });
    case 'streamStop':
      return callingRequest('calling.stream.stop', callId, target('calling.stream.stop'));
    case 'startInputTimers':
      return callingRequest('calling.collect.start_input_timers', callId, target('calling.collect.start_input_timers'));
    case 'playPause':
      return callingRequest('calling.play.pause', callId, target('calling.play.pause'));
    case 'playResume':
      return callingRequest('calling.play.resume', callId, target('calling.play.resume'));
    case 'playVolume':
      if (!(command.volumeDb >= -40 && command.volumeDb <= 40))
        throw invalid('calling.play.volume', `volume is -40..40 dB, got ${command.volumeDb}`);
      return callingRequest('calling.play.volume', callId, {
        ...target('calling.play.volume'),
        volume: command.volumeDb,
      });
    case 'denoiseStart':
      return callingRequest('calling.denoise', callId, {});
    case 'denoiseStop':
      return callingRequest('calling.denoise.stop', callId, {});
    case 'transcribeStart':
      return liveTranscribe(callId, {
        start: {
          lang: command.language ?? 'en-US',
          direction: ['remote-caller'],
          ...(command.webhookUrl ? { webhook: command.webhookUrl } : {}),
        },
      });
    case 'transcribeStop':
      return liveTranscribe(callId, 'stop');
    case 'userEvent':
      return callingRequest('calling.user_event', callId, { event: command.event });
    case 'refer':
      if (!SIP_URI.test(command.to))
        throw invalid('calling.refer', `SignalWire refers to SIP URIs only (sip:user@host), got "${command.to}"`);
      return callingRequest('calling.refer', callId, {
        device: { type: 'sip', params: { to: command.to } },
        status_url,
      });
    case 'stopReceiveFax':
      // The fax's control_id is SignalWire's (SWML started it): the session takes it from the fax's callbacks.
      return callingRequest('calling.receive_fax.stop', callId, target('calling.receive_fax.stop'));
  }
}

function liveTranscribe(callId: string, action: LiveTranscribeAction): CarrierRequest {
  return {
    method: 'POST',
    path: CALLS_PATH,
    operation: 'calling.live_transcribe',
    body: { command: 'calling.live_transcribe', id: callId, params: { action } },
  };
}

function invalid(operation: string, detail: string): CarrierError {
  return new CarrierError(`signalwire ${operation}: ${detail}`, ErrorType.InvalidCommand, false, {
    provider: 'signalwire',
    operation,
    detail,
  });
}
