import type { CallCommand, CallCommandBody, StreamTrack } from './commands';

/**
 * Detection and media operations (issue 10 item 4): the flow operations that detect machines, stream audio
 * and drive SignalWire's media controls. Each carrier adapter builds them in its own `media.ts`.
 */
export const MEDIA_OPS = [
  'detectMachine',
  'streamStart',
  'streamStop',
  'startInputTimers',
  'playPause',
  'playResume',
  'playVolume',
  'denoiseStart',
  'denoiseStop',
  'transcribeStart',
  'transcribeStop',
  'userEvent',
  'refer',
  'stopReceiveFax',
] as const satisfies readonly CallCommandBody['op'][];
export type MediaOp = (typeof MEDIA_OPS)[number];
export type MediaCommandBody = Extract<CallCommandBody, { op: MediaOp }>;
export type MediaCommand = Extract<CallCommand, { op: MediaOp }>;

/** Whether a command (or command body) is a detection or media operation: each carrier builds those in its media.ts. */
export function isMediaCommand<C extends { op: string }>(command: C): command is Extract<C, { op: MediaOp }> {
  return isMediaOp(command.op);
}

export function isMediaOp(op: string): op is MediaOp {
  return (MEDIA_OPS as readonly string[]).includes(op);
}

/** The carriers' shared spelling of a stream track (Telnyx `stream_track`, SignalWire `track`). */
export function wireTrack(track: StreamTrack | undefined): 'inbound_track' | 'outbound_track' | 'both_tracks' {
  return track === 'outbound' ? 'outbound_track' : track === 'both' ? 'both_tracks' : 'inbound_track';
}
