import type { MediaCommand } from '../../calls/media';
import { wireTrack } from '../../calls/media';
import { unsupported } from '../ops';
import type { CarrierRequest } from '../types';

/**
 * Detection and media operations as Call Control commands (issue 10 item 4). Telnyx streams (`streaming_*`),
 * suppresses noise (`suppression_*`), transcribes (`transcription_*`) and refers; it detects answering
 * machines only when it places a call, and has no pause or volume for a playback.
 */

/** Why Telnyx refuses what it lacks, by operation. */
export const TELNYX_MEDIA_GAPS = {
  detectMachine:
    'answering-machine detection runs only when Telnyx places a call (dial or transfer answering_machine_detection), not on a call in progress',
  startInputTimers: 'a Call Control gather starts its own timers; there is no command to start them',
  playPause: 'Call Control can stop a playback but not pause it',
  playResume: 'Call Control can stop a playback but not pause or resume it',
  playVolume: 'Call Control has no volume control for a running playback',
  userEvent: 'Call Control has no application events on a call',
  stopReceiveFax: 'a Telnyx fax is a Programmable Fax of its own (POST /faxes), not a step of a call',
} as const;

/** `post(action, body)` adds the command's `command_id` and `client_state` (commands.ts). */
export function telnyxMediaRequest(
  command: MediaCommand,
  post: (action: string, body?: Record<string, unknown>) => CarrierRequest,
): CarrierRequest {
  switch (command.op) {
    case 'streamStart':
      // Events: streaming.started, then streaming.stopped (or streaming.failed).
      return post('streaming_start', { stream_url: command.url, stream_track: wireTrack(command.track) });
    case 'streamStop':
      // No stream_id: Telnyx stops every stream of the call, and a flow runs one at a time.
      return post('streaming_stop');
    case 'denoiseStart':
      return post('suppression_start', { direction: 'inbound' });
    case 'denoiseStop':
      return post('suppression_stop');
    case 'transcribeStart':
      // Transcripts arrive as `call.transcription` webhooks on the call's own webhook URL, not `webhookUrl`.
      return post('transcription_start', {
        transcription_engine: 'Google',
        transcription_engine_config: {
          transcription_engine: 'Google',
          language: (command.language ?? 'en-US').split('-')[0],
        },
        transcription_tracks: 'inbound',
      });
    case 'transcribeStop':
      return post('transcription_stop');
    case 'refer':
      // Events: call.refer.started, then call.refer.completed or call.refer.failed.
      return post('refer', { sip_address: command.to });
    case 'detectMachine':
    case 'startInputTimers':
    case 'playPause':
    case 'playResume':
    case 'playVolume':
    case 'userEvent':
    case 'stopReceiveFax':
      throw unsupported('telnyx', command.op, TELNYX_MEDIA_GAPS[command.op]);
  }
}
