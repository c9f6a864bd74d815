import { defaultIvr } from './default-ivr';
import { outboundNotice } from './outbound';
import { queueCallback, supportQueue } from './queue';
import { receiveFax } from './receive-fax';
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
};
