import type { SimCall } from './call';

/**
 * jambonz queues (a Redis list per `queue:<account_sid>:<name>`): enqueue adds the caller at the back,
 * dequeue takes the first caller or the one it names. Order is first come, first served (`priority` is not
 * simulated).
 */

/** The bridge between an enqueued caller and the call that dequeued it; either side ends it by hanging up. */
export class QueueLink {
  readonly over: Promise<void>;
  private finish: () => void = () => undefined;
  private ended = false;

  constructor() {
    this.over = new Promise((resolve) => {
      this.finish = resolve;
    });
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.finish();
  }
}

export interface QueueMember {
  readonly call: SimCall;
  /** A dequeue takes this caller: the enqueue learns it is bridged to `dequeuer`. */
  connect(dequeuer: SimCall): QueueLink;
}

export class Queues {
  private readonly members = new Map<string, QueueMember[]>();

  join(queueSid: string, call: SimCall, onConnect: (link: QueueLink) => void): QueueMember {
    const member: QueueMember = {
      call,
      connect: () => {
        const link = new QueueLink();
        onConnect(link);
        return link;
      },
    };
    this.list(queueSid).push(member);
    return member;
  }

  leave(queueSid: string, member: QueueMember): void {
    const list = this.list(queueSid);
    const index = list.indexOf(member);
    if (index >= 0) list.splice(index, 1);
  }

  /** Removes and returns the caller a dequeue gets: the one with `callSid`, else the first. */
  take(queueSid: string, callSid?: string): QueueMember | undefined {
    const list = this.list(queueSid);
    const index =
      callSid === undefined ? (list.length > 0 ? 0 : -1) : list.findIndex((member) => member.call.callSid === callSid);
    return index < 0 ? undefined : list.splice(index, 1)[0];
  }

  size(queueSid: string): number {
    return this.list(queueSid).length;
  }

  /** 0-based, as the Redis list position jambonz reports. */
  position(queueSid: string, call: SimCall): number {
    return this.list(queueSid).findIndex((member) => member.call === call);
  }

  private list(queueSid: string): QueueMember[] {
    let list = this.members.get(queueSid);
    if (!list) {
      list = [];
      this.members.set(queueSid, list);
    }
    return list;
  }
}
