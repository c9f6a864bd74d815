import type { ControlTable } from '../../calls/controls';
import type { OpTable } from '../ops';

/**
 * How each operation reaches SignalWire. Answer, bridge, DTMF and fax exist only as SWML; `say`, `play`,
 * `gather` and `recordStart` have REST forms too, but as document steps they run in order on the call and
 * report in the hand-back, with no race against a holding document or a redirect. `hangup` and `reject`
 * stay REST (`calling.end`), which works whatever the call is doing. Queues will be our queue workflows,
 * not SignalWire's; `client_state` is a Telnyx notion (SignalWire routes by the callback URL).
 */
export const SIGNALWIRE_OPS = {
  answer: 'document',
  hangup: 'command',
  reject: 'command',
  play: 'document',
  say: 'document',
  stopPlayback: 'command',
  gather: 'document',
  stopGather: 'command',
  recordStart: 'document',
  recordStop: 'command',
  recordPause: 'command',
  recordResume: 'command',
  bridge: 'document',
  transfer: 'command',
  sendDtmf: 'document',
  enqueue: 'unsupported',
  leaveQueue: 'unsupported',
  forkStart: 'command',
  forkStop: 'command',
  clientStateUpdate: 'unsupported',
  sendFax: 'document',
  receiveFax: 'document',
  connect: 'document',
  redirect: 'command',
  mute: 'unsupported',
  unmute: 'unsupported',
  // Detection and media (issue 10 item 4): each one Calling API command.
  detectMachine: 'command',
  streamStart: 'command',
  streamStop: 'command',
  startInputTimers: 'command',
  playPause: 'command',
  playResume: 'command',
  playVolume: 'command',
  denoiseStart: 'command',
  denoiseStop: 'command',
  transcribeStart: 'command',
  transcribeStop: 'command',
  userEvent: 'command',
  refer: 'command',
  stopReceiveFax: 'command',
  // supervisor controls:
  switchSupervisorRole: 'command',
  moveToConference: 'command',
  rejoinConference: 'command',
  // conferences:
  joinConference: 'document',
  conferenceHold: 'unsupported',
  conferenceUnhold: 'unsupported',
} as const satisfies OpTable;

/** Why a SignalWire conference member cannot be held or muted: a call joins with SWML `join_conference` only. */
export const SIGNALWIRE_NO_CONFERENCE =
  'the Calling API has no conference command: a call joins a conference with SWML join_conference (muted or not), and no Calling API command holds or mutes a member';

/**
 * Why SignalWire refuses a supervisor request that names no room: a `connect` bridges two legs, so the session
 * first moves the call into a conference (SWML `join_conference`), where a supervisor joins muted, coaching the
 * agent, or as an equal member.
 */
export const SIGNALWIRE_NO_SUPERVISOR =
  'a connect bridges exactly two legs: a supervisor joins the conference the call is moved into (join_conference), and this request names none';

/** Why SignalWire refuses a mute of a call leg. */
export const SIGNALWIRE_NO_LEG_MUTE = 'the Calling API has no mute for a call leg';

/**
 * Live controls on SignalWire, as Calling API commands sent at once (`play` and `say` as `calling.play` even
 * though flows send them as SWML). The `update` rules (update-rules.ts) hold: a redirect only while answered,
 * which the session requires of every redirect; `calling.end` hangs up in any state.
 */
export const SIGNALWIRE_CONTROLS = {
  hangup: { route: 'command' },
  redirect: { route: 'session', requires: { anyOf: ['answered'], rule: 'update (a redirect) only while answered' } },
  play: { route: 'command' },
  say: { route: 'command' },
  'send-dtmf': {
    route: 'unsupported',
    why: 'no Calling API command sends DTMF (only the SWML send_digits method)',
  },
  'record-pause': {
    route: 'command',
    requires: {
      anyOf: ['recordingByCommand'],
      rule: 'calling.record.pause names the recording by the control_id of a REST calling.record; a recording run as a SWML record step has none of ours',
    },
  },
  'record-resume': {
    route: 'command',
    requires: {
      anyOf: ['recordingByCommand'],
      rule: 'calling.record.resume names the recording by the control_id of a REST calling.record; a recording run as a SWML record step has none of ours',
    },
  },
  mute: { route: 'unsupported', why: SIGNALWIRE_NO_LEG_MUTE },
  unmute: { route: 'unsupported', why: SIGNALWIRE_NO_LEG_MUTE },
  hold: { route: 'unsupported', why: 'the Calling API has no hold for a call leg (calling.ai_hold is for AI agents)' },
  unhold: {
    route: 'unsupported',
    why: 'the Calling API has no hold for a call leg (calling.ai_unhold is for AI agents)',
  },
  // Transfers (workflows/session.ts): blind is an `update` redirect out of the running SWML `connect` (SignalWire
  // hangs up the agent's leg) into a new `connect` to the party.
  transfer: {
    route: 'session',
    requires: { anyOf: ['answered'], rule: 'update (the redirect out of the connect) only while answered' },
  },
  // Warm meets in a conference: the party is dialed into it (`dial` with a join_conference document), an `update`
  // takes the agent there while the caller holds, and complete / cancel hand the room's end to the one who stays
  // (`update` rejoin) before the caller joins.
  'warm-transfer': {
    route: 'session',
    requires: { anyOf: ['answered'], rule: 'update (the agent into the room) only while answered' },
  },
  // supervisor controls:
  // The call is moved into a conference (the agent's leg is updated into it, the caller follows), then the
  // supervisor dialed into it: join_conference muted, coaching the agent, or plain.
  monitor: { route: 'command' },
  whisper: { route: 'command' },
  barge: { route: 'command' },
} as const satisfies ControlTable;
