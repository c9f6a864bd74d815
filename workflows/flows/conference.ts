import { isCallEnded } from '../../src/calls';
import type { Flow } from './types';

/** What the conference room says. */
export const CONFERENCE_PROMPTS = {
  joining: 'You are joining the conference.',
  ended: 'The conference has ended. Goodbye.',
} as const;

/**
 * A conference room: callers join the conference named by `args.room` (default `main`). `args.moderator: true`
 * ends the conference for everyone when that caller leaves. Those left in it hear that it ended.
 */
export const conferenceRoom: Flow = async (call, { args }) => {
  const room = typeof args.room === 'string' && args.room ? args.room : 'main';
  await call.answer();
  await call.say(CONFERENCE_PROMPTS.joining);
  try {
    await call.joinConference(room, { endOnExit: args.moderator === true, beep: true });
    await call.say(CONFERENCE_PROMPTS.ended);
    await call.hangup();
    return `left conference ${room}`;
  } catch (err) {
    if (!isCallEnded(err)) throw err;
    return `hung up in conference ${room}`;
  }
};
