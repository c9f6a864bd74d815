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
} as const satisfies OpTable;
