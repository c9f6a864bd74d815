import type { MediaCommandBody, MediaOp } from '../../calls/media';
import { ErrorType } from '../../calls/errors';
import { CarrierError } from '../errors';
import { unsupported } from '../ops';
import { JAMBONZ_NO_FAX } from './ops';
import { configVerb, type JambonzVerb } from './verbs';
import { JambonzHook, type OperationHooks } from './webhook';

/**
 * Detection and media operations as jambonz verbs (issue 10 item 4): answering-machine detection and an audio
 * stream both run in the background of the call, started and stopped by the `config` verb (`amd`, `listen`).
 * The amd verdicts reach the operation's own `amd` hook; a background `listen` reports nothing.
 */

/** Why jambonz refuses what it lacks, by operation. */
export const JAMBONZ_MEDIA_GAPS: Partial<Record<MediaOp, string>> = {
  startInputTimers: 'a gather verb starts its own timers once its prompt has played; nothing starts them later',
  playPause: 'a running play verb can be cut short (a redirect) but not paused',
  playResume: 'a running play verb can be cut short (a redirect) but not paused or resumed',
  playVolume: 'a running play verb has no volume control',
  denoiseStart: 'durable-calls does not drive config noiseIsolation (a vendor add-on) on jambonz',
  denoiseStop: 'durable-calls does not drive config noiseIsolation (a vendor add-on) on jambonz',
  transcribeStart: 'durable-calls does not drive background transcription (config transcribe) on jambonz',
  transcribeStop: 'durable-calls does not drive background transcription (config transcribe) on jambonz',
  userEvent: 'jambonz has no application events on a call',
  refer: 'durable-calls does not drive the sip:refer verb on jambonz',
  stopReceiveFax: JAMBONZ_NO_FAX,
};

/** The verbs of a detection or media operation; throws `Unsupported` for what jambonz lacks. */
export function mediaVerbs(command: MediaCommandBody, hooks: OperationHooks): JambonzVerb[] {
  switch (command.op) {
    case 'detectMachine':
      return [
        configVerb({
          amd: {
            actionHook: hooks.url(JambonzHook.Amd),
            ...(command.timeoutSeconds === undefined
              ? {}
              : { timers: { decisionTimeoutMs: command.timeoutSeconds * 1000 } }),
          },
        }),
      ];
    case 'streamStart': {
      if (command.track === 'outbound') {
        throw new CarrierError(
          'jambonz streams what the caller says (mono) or both sides (stereo), not only what the caller hears',
          ErrorType.InvalidCommand,
          false,
          { provider: 'jambonz', operation: 'streamStart' },
        );
      }
      const mixType = command.track === 'both' ? 'stereo' : 'mono';
      return [configVerb({ listen: { enable: true, url: command.url, mixType } })];
    }
    case 'streamStop':
      return [configVerb({ listen: { enable: false } })];
    default:
      throw unsupported('jambonz', command.op, JAMBONZ_MEDIA_GAPS[command.op]);
  }
}
