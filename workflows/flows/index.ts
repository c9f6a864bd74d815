import { defaultIvr } from './default-ivr';
import { mediaCheck } from './media-check';
import { outboundNotice } from './outbound';
import { queueCallback, supportQueue } from './queue';
import { receiveFax } from './receive-fax';
import { conferenceRoom } from './conference';
import type { FlowName } from '../../src/calls';
import type { Flow } from './types';

export type { Flow, FlowContext } from './types';

/** Every flow a routing-table entry or `POST /calls` may name. */
export const FLOWS: Record<FlowName, Flow> = {
  defaultIvr,
  outboundNotice,
  receiveFax,
  supportQueue,
  queueCallback,
  // Detection and media (issue 10 item 4).
  mediaCheck,
  // conferences:
  conferenceRoom,
};

/**
 * Adds an app's own flows (the functions its flows module exports, by export name) to the table; a flow with a
 * built-in's name replaces it. The worker's generated workflow entry calls this (`workflowCode`, worker/bundle.ts).
 */
export function registerFlows(flows: Record<string, unknown>): void {
  for (const [name, flow] of Object.entries(flows)) {
    if (typeof flow === 'function') (FLOWS as Record<string, Flow>)[name] = flow as Flow;
  }
}
