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
} as const satisfies OpTable;
