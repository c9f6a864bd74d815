import type { CarrierRule, ControlTable } from '../../calls/controls';
import type { OpTable } from '../ops';

/**
 * Why jambonz refuses a supervisor request that names no room: a `dial` bridges exactly two legs, so the session
 * first moves the call into a conference (`moveToConference`), where a supervisor joins muted (monitor), heard
 * by the agent only (`speakOnlyTo`: whisper) or as an equal member (barge).
 */
export const JAMBONZ_NO_SUPERVISOR =
  'a dial bridges exactly two legs: a supervisor joins the conference the call is moved into, and this request names none';

/** Why jambonz refuses faxes. */
export const JAMBONZ_NO_FAX = 'no fax: no T.38, no fax verb';

/**
 * How each operation reaches jambonz. Everything a verb can express travels in the call's next document;
 * what acts on the running verb (stops, record pause/resume, redirect) is Live Call Control. `bridge` works
 * for a call waiting in the parking queue (`JAMBONZ_PARKING_QUEUE`), which is where `enqueue` puts callers.
 */
export const JAMBONZ_OPS = {
  answer: 'document',
  hangup: 'document',
  reject: 'document',
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
  transfer: 'document',
  sendDtmf: 'document',
  enqueue: 'document',
  leaveQueue: 'document',
  forkStart: 'document',
  forkStop: 'document',
  clientStateUpdate: 'document',
  sendFax: 'unsupported',
  receiveFax: 'unsupported',
  connect: 'document',
  redirect: 'command',
  mute: 'command',
  unmute: 'command',
  // Detection and media (issue 10 item 4): background `amd` and `listen` of the config verb.
  detectMachine: 'document',
  streamStart: 'document',
  streamStop: 'document',
  startInputTimers: 'unsupported',
  playPause: 'unsupported',
  playResume: 'unsupported',
  playVolume: 'unsupported',
  denoiseStart: 'unsupported',
  denoiseStop: 'unsupported',
  transcribeStart: 'unsupported',
  transcribeStop: 'unsupported',
  userEvent: 'unsupported',
  refer: 'unsupported',
  stopReceiveFax: 'unsupported',
  // supervisor controls:
  switchSupervisorRole: 'command',
  moveToConference: 'command',
  rejoinConference: 'command',
  // conferences:
  joinConference: 'document',
  conferenceHold: 'command',
  conferenceUnhold: 'command',
} as const satisfies OpTable;

/** `whisper` plays a say/play verb to the leg without breaking what runs, which must be a dial or a listen. */
const WHISPER_RULE: CarrierRule = {
  anyOf: ['bridged', 'recording'],
  rule: 'whisper (how jambonz plays to a live call) only while the call runs a dial or a listen (a recording)',
};
/** `mute_status` mutes this leg in a `dial` or a `conference` (`conf_mute_status` would mute every non-moderator). */
const MUTE_RULE: CarrierRule = {
  anyOf: ['bridged', 'inConference'],
  rule: 'mute_status only while the call runs a dial or a conference',
};
const LISTEN_RULE: CarrierRule = { anyOf: ['recording'], rule: 'listen_status only while the call runs a listen' };
/** jambonz holds conference members only (`conf_hold_status` with `wait_hook`): a call that `joinConference` put in one. */
const CONFERENCE_HOLD_RULE: CarrierRule = {
  anyOf: ['inConference'],
  rule: 'conf_hold_status (with wait_hook) holds conference members only; this call is in no conference',
};

/**
 * Live controls on jambonz, each one Live Call Control request (live-control.ts enforces its combination
 * rules: one action per request, whisper alone or with listen_status / mute_status). A hangup is
 * `call_status: completed` once answered and `no-answer` before (the session sends `reject` then); play and
 * say are whispers; a redirect to another flow is the session's own, and the running verb is cut short by a
 * `call_hook` redirect.
 */
export const JAMBONZ_CONTROLS = {
  hangup: { route: 'command' },
  redirect: { route: 'session' },
  play: { route: 'command', requires: WHISPER_RULE },
  say: { route: 'command', requires: WHISPER_RULE },
  'send-dtmf': {
    route: 'command',
    requires: { anyOf: ['answered'], rule: 'dtmf needs a stable (answered) dialog' },
  },
  'record-pause': { route: 'command', requires: LISTEN_RULE },
  'record-resume': { route: 'command', requires: LISTEN_RULE },
  mute: { route: 'command', requires: MUTE_RULE },
  unmute: { route: 'command', requires: MUTE_RULE },
  // Transfers (workflows/session.ts): blind is a Live Call Control `call_hook` redirect (jambonz ends the running
  // dial and hangs up the agent's leg) to a new `dial` of the party. Warm meets in a conference: the party is
  // placed into it (createCall with a member hook), `child_call_hook` takes the agent there while the caller holds,
  // and complete / cancel hand the room's end to the one who stays (`call_hook` rejoin) before the caller joins.
  transfer: { route: 'session' },
  'warm-transfer': { route: 'session' },
  hold: { route: 'command', requires: CONFERENCE_HOLD_RULE },
  unhold: { route: 'command', requires: CONFERENCE_HOLD_RULE },
  // supervisor controls (workflows/session.ts): the call is moved into a conference (child_call_hook takes the
  // agent out of the dial into it, the caller follows), then the supervisor is placed into it in its role.
  monitor: { route: 'command' },
  whisper: { route: 'command' },
  barge: { route: 'command' },
} as const satisfies ControlTable;
