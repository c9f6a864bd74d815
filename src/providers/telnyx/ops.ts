import type { ControlTable } from '../../calls/controls';
import type { OpTable } from '../ops';

/** The Call Control Application id the simulator and an unconfigured service use. */
export const TELNYX_DEV_CONNECTION_ID = 'durable-calls-dev';

/**
 * Every operation is a Call Control command. A fax is not a step of a Telnyx call but a Programmable Fax of its
 * own (`POST /faxes`, sent by the send-fax workflow: `CARRIERS.telnyx.faxes`), so a flow cannot send or receive
 * one on a call; `connect` and `redirect` are document-carrier steps (here the session dials and bridges
 * separately).
 */
export const TELNYX_OPS = {
  answer: 'command',
  hangup: 'command',
  reject: 'command',
  play: 'command',
  say: 'command',
  stopPlayback: 'command',
  gather: 'command',
  stopGather: 'command',
  recordStart: 'command',
  recordStop: 'command',
  recordPause: 'command',
  recordResume: 'command',
  bridge: 'command',
  transfer: 'command',
  sendDtmf: 'command',
  enqueue: 'command',
  leaveQueue: 'command',
  forkStart: 'command',
  forkStop: 'command',
  clientStateUpdate: 'command',
  sendFax: 'unsupported',
  receiveFax: 'unsupported',
  connect: 'unsupported',
  redirect: 'unsupported',
  mute: 'unsupported',
  unmute: 'unsupported',
  // Detection and media (issue 10 item 4): streaming_*, suppression_* (noise), transcription_*, refer.
  detectMachine: 'unsupported',
  streamStart: 'command',
  streamStop: 'command',
  startInputTimers: 'unsupported',
  playPause: 'unsupported',
  playResume: 'unsupported',
  playVolume: 'unsupported',
  denoiseStart: 'command',
  denoiseStop: 'command',
  transcribeStart: 'command',
  transcribeStop: 'command',
  userEvent: 'unsupported',
  refer: 'command',
  stopReceiveFax: 'unsupported',
  // supervisor controls:
  switchSupervisorRole: 'command',
  moveToConference: 'unsupported',
  rejoinConference: 'unsupported',
  // conferences:
  joinConference: 'unsupported',
  conferenceHold: 'unsupported',
  conferenceUnhold: 'unsupported',
} as const satisfies OpTable;

/** Why a Telnyx call cannot join a conference here yet. */
export const TELNYX_NO_CONFERENCE =
  'Telnyx conferences are resources of their own (POST /conferences, /conferences/{id}/actions/join), outside the Call Control spec this adapter is built and validated against; not built yet';

/** Why Telnyx refuses a mute of a call leg. */
export const TELNYX_NO_LEG_MUTE = 'Call Control mutes and holds conference participants only, not a call leg';

/**
 * Live controls on Telnyx: each is one Call Control command, sent at once. A redirect to another flow is the
 * session's own: Telnyx is only told to stop what the old flow was playing or gathering.
 */
export const TELNYX_CONTROLS = {
  hangup: { route: 'command' },
  redirect: { route: 'session' },
  play: { route: 'command' },
  say: { route: 'command' },
  'send-dtmf': { route: 'command' },
  'record-pause': { route: 'command' },
  'record-resume': { route: 'command' },
  mute: { route: 'unsupported', why: TELNYX_NO_LEG_MUTE },
  unmute: { route: 'unsupported', why: TELNYX_NO_LEG_MUTE },
  hold: { route: 'unsupported', why: TELNYX_NO_LEG_MUTE },
  unhold: { route: 'unsupported', why: TELNYX_NO_LEG_MUTE },
  // Transfers (workflows/session.ts): blind is Call Control `transfer` on the caller's leg; warm is `dial` for
  // the second party, `bridge` of the agent's leg with it and `playback_start` (hold music) to the caller, then
  // `bridge` of the caller with the party kept and `hangup` of the one released.
  transfer: { route: 'session' },
  'warm-transfer': { route: 'session' },
  // supervisor controls: dial with supervise_call_control_id + supervisor_role, then switch_supervisor_role.
  monitor: { route: 'command' },
  whisper: { route: 'command' },
  barge: { route: 'command' },
} as const satisfies ControlTable;
