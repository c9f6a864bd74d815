import type { Capabilities } from '../types';

/**
 * The jambonz adapter: pure functions shared by the gateway (verify, normalise, answer hooks with verbs),
 * the activities (Live Call Control, outbound calls) and the simulator.
 */
export * from './webhook';
export * from './events';
export * from './verbs';
export * from './live-control';
export * from './outbound-call';
export * from './carrier';
export * from './document';

/**
 * What the flow API can do on jambonz. jambonz has no fax (no T.38, no fax verb). `bridge` works for a call
 * waiting in the parking queue (see `JAMBONZ_PARKING_QUEUE`), which is where `enqueue` puts callers.
 */
export const JAMBONZ_CAPABILITIES: Capabilities = {
  answer: true,
  hangup: true,
  reject: true,
  play: true,
  say: true,
  stopPlayback: true,
  gather: true,
  stopGather: true,
  recordStart: true,
  recordStop: true,
  recordPause: true,
  recordResume: true,
  bridge: true,
  transfer: true,
  sendDtmf: true,
  enqueue: true,
  leaveQueue: true,
  forkStart: true,
  forkStop: true,
  clientStateUpdate: true,
  sendFax: false,
  receiveFax: false,
  connect: true,
  redirect: true,
};
