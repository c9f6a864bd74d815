import type { GatherOptions, RecordOptions } from '../../calls';

/**
 * The flow API's documented defaults in SignalWire's units (seconds, snake_case), shared by the REST
 * commands and the SWML documents so a gather or a recording behaves the same either way.
 */

export function gatherSettings(gather: GatherOptions) {
  return {
    max_digits: gather.maxDigits ?? 1,
    terminators: gather.terminator ?? '#',
    digit_timeout: (gather.interDigitTimeoutMs ?? 3000) / 1000,
    initial_timeout: (gather.timeoutMs ?? 5000) / 1000,
  };
}

export function recordSettings(record: RecordOptions) {
  return {
    beep: record.beep ?? true,
    format: record.format ?? 'mp3',
    stereo: record.channels === 'dual',
    max_length: Math.round(record.maxSeconds ?? 120),
    end_silence_timeout: record.silenceSeconds ?? 5,
  };
}
