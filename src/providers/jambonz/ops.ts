import type { OpTable } from '../ops';

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
} as const satisfies OpTable;
