import { isCallEnded, offerResultSignal, type CallSessionInput, type QueueCallbackArgs } from '../../src/calls';
import type { CallSession, EnqueueResult } from '../session';
import type { Flow } from './types';

/**
 * Flows over our call queues (`call.enqueue`): `supportQueue` puts a caller in a queue (the routing table's
 * `args.queue`, `support` by default) and `queueCallback` is the outbound session a queue starts to call a
 * customer back and connect them with the agent it reserved.
 */

export const QUEUE_PROMPTS = {
  welcome: 'Thank you for calling support. Please hold for the next available agent. Press star for a callback.',
  afterAgent: 'Thank you for calling. Goodbye.',
  sorry: 'Sorry, we cannot take your call right now. Please call again later. Goodbye.',
  voicemail: 'All our agents are busy. Please leave a message after the beep.',
  callbackIntro: 'Hello, this is your callback from durable calls. Connecting you to an agent.',
  callbackMissed: 'Sorry, the agent could not be reached. We will call you again shortly. Goodbye.',
} as const;

export const supportQueue: Flow = async (call, { args }) => {
  await call.answer();
  await call.say(QUEUE_PROMPTS.welcome);
  const result = await call.enqueue(String(args.queue ?? 'support'), {
    ...(typeof args.priority === 'number' ? { priority: args.priority } : {}),
    ...(typeof args.skill === 'string' ? { skills: { [args.skill]: 1 } } : {}),
  });
  return afterQueue(call, result);
};

async function afterQueue(call: CallSession, result: EnqueueResult): Promise<string> {
  try {
    switch (result.outcome) {
      case 'connected':
        if (!call.ended) await call.say(QUEUE_PROMPTS.afterAgent);
        await call.hangup();
        return `connected to agent ${result.agentId} after ${result.waitedSeconds} s`;
      case 'overflow':
        if (result.target?.kind === 'voicemail') {
          await call.say(result.target.greeting ?? QUEUE_PROMPTS.voicemail);
          const recording = await call.record({ beep: true, maxSeconds: 120, silenceSeconds: 5 });
          await call.hangup();
          return `overflow (${result.reason}), ${recording.saved ? 'voicemail saved' : 'no voicemail'}`;
        }
        await call.say(QUEUE_PROMPTS.sorry);
        await call.hangup();
        return `overflow (${result.reason})`;
      case 'removed':
        await call.say(QUEUE_PROMPTS.sorry);
        await call.hangup();
        return `removed from the queue (${result.reason})`;
      case 'callback-scheduled':
        return 'callback scheduled';
      case 'caller-gone':
        return 'caller hung up while waiting';
    }
  } catch (err) {
    if (!isCallEnded(err)) throw err;
    return `${result.outcome}, then the caller hung up`;
  }
}

/** The flow arguments of a queue's callback session, if these are. */
export function queueCallbackArgs(flow: string, args: CallSessionInput['flowArgs']): QueueCallbackArgs | undefined {
  const a = args as Partial<QueueCallbackArgs> | undefined;
  if (flow !== 'queueCallback' || !a || typeof a.queue !== 'string' || typeof a.ticket !== 'string') return undefined;
  if (typeof a.offerId !== 'string' || typeof a.agentId !== 'string' || typeof a.agentAddress !== 'string')
    return undefined;
  return a as QueueCallbackArgs;
}

/**
 * The queue's callback (the customer has answered: the session placed the call before the flow runs; an
 * unanswered one is reported `customer-no-answer` by the session): dial the reserved agent, bridge, report.
 */
export const queueCallback: Flow = async (call, { args }) => {
  const offer = queueCallbackArgs('queueCallback', args);
  if (!offer) throw new Error('queueCallback needs the QueueCallbackArgs a queue starts it with');
  try {
    await call.say(QUEUE_PROMPTS.callbackIntro);
  } catch (err) {
    if (!isCallEnded(err)) throw err;
    await call.reportToQueue(offer.queue, offerResultSignal, {
      ticket: offer.ticket,
      offerId: offer.offerId,
      outcome: 'caller-gone',
    });
    return `callback ${offer.attempt}: the customer hung up before the agent was dialed`;
  }
  const taken = await call.takeOffer({
    queue: offer.queue,
    ticket: offer.ticket,
    offerId: offer.offerId,
    agents: [{ agentId: offer.agentId, address: offer.agentAddress }],
    ringTimeoutSeconds: offer.ringTimeoutSeconds,
  });
  if (taken.kind === 'talked') {
    try {
      if (!call.ended) await call.hangup();
    } catch (err) {
      if (!isCallEnded(err)) throw err;
    }
    return `callback ${offer.attempt}: connected to agent ${taken.agentId}`;
  }
  if (taken.kind === 'missed' && !call.ended) {
    await call.say(QUEUE_PROMPTS.callbackMissed);
    await call.hangup();
  }
  return `callback ${offer.attempt}: ${taken.kind}`;
};
