import { agentRingSeconds, type QueueConfig, type QueueNotice, type SkillRequirements } from '../../../src/calls';
import { OFFER_REPORT_GRACE_SECONDS, QueueCore, QueueRejection, type QueueEffect } from '../../../workflows/queue-core';

/**
 * The queue's decisions are plain code (no workflow API), so its rules are tested here directly: who is
 * offered to whom under each strategy, what misses, hang-ups, callbacks and deadlines change, the figures
 * and each caller's wait estimate. Time is passed in; `T0` is an arbitrary epoch.
 */

const T0 = Date.UTC(2026, 0, 1, 9, 0, 0);
const s = (seconds: number) => T0 + seconds * 1000;

function queue(config: Partial<QueueConfig> = {}): QueueCore {
  return QueueCore.start('support', { wrapUpSeconds: 10, agentRingTimeoutSeconds: 15, ...config });
}

function signIn(q: QueueCore, agentId: string, at: number, skills?: Record<string, number>): void {
  q.changeAgent({ op: 'sign-in', agentId, address: `sip:${agentId}@agents.example`, skills }, at);
}

function join(q: QueueCore, ticket: string, at: number, opts: { priority?: number; skills?: SkillRequirements } = {}) {
  return q.join({ requestId: ticket, sessionWorkflowId: `call:telnyx:${ticket}`, ...opts }, at);
}

/** The offers among effects: ticket → agent ids. */
function offers(effects: QueueEffect[]): Array<{ ticket: string; offerId: string; agents: string[] }> {
  return effects.flatMap((e) =>
    e.kind === 'notify' && e.notice.kind === 'offer'
      ? [{ ticket: e.notice.ticket, offerId: e.notice.offerId, agents: e.notice.agents.map((a) => a.agentId) }]
      : [],
  );
}

function notices(effects: QueueEffect[]): QueueNotice[] {
  return effects.flatMap((e) => (e.kind === 'notify' ? [e.notice] : []));
}

/** The callback session the effects start (fails the test if none). */
function callbackStart(effects: QueueEffect[]): Extract<QueueEffect, { kind: 'startCallback' }> {
  const start = effects.find((e) => e.kind === 'startCallback');
  expect(start).toBeDefined();
  return start as Extract<QueueEffect, { kind: 'startCallback' }>;
}

function agentState(q: QueueCore, id: string) {
  return q.state.agents.find((a) => a.id === id)!;
}

function offerOf(q: QueueCore, ticket: string) {
  return q.state.entries.find((e) => e.ticket === ticket)?.offer;
}

describe('QueueCore', () => {
  describe('joining', () => {
    it('answers with the ticket, the position and a per-caller estimate; a repeated join is the same ticket', () => {
      const q = queue({ defaultHandleSeconds: 100 });
      signIn(q, 'alice', s(0));
      const first = join(q, 'c1', s(1));
      expect(first.result).toMatchObject({ kind: 'joined', ticket: 'c1', position: 1, estimatedWaitSeconds: 0 });
      expect(offers(first.effects)).toEqual([{ ticket: 'c1', offerId: expect.any(String), agents: ['alice'] }]);

      // alice is ringing for c1: c2 waits for her to handle c1 (100 s) and wrap up (10 s).
      const second = join(q, 'c2', s(2));
      expect(second.result).toMatchObject({ kind: 'joined', position: 2, estimatedWaitSeconds: 110 });
      expect(join(q, 'c2', s(3)).result).toMatchObject({ kind: 'joined', ticket: 'c2', position: 2 });
      expect(q.state.entries).toHaveLength(2);
      expect(q.state.counters.offered).toBe(2);
    });

    it('has no estimate while no agent with the skills is signed in', () => {
      const q = queue();
      signIn(q, 'alice', s(0), { en: 5 });
      expect(join(q, 'c1', s(1), { skills: { fr: 1 } }).result).toMatchObject({ position: 1 });
      expect(q.position('c1', s(1)).estimatedWaitSeconds).toBeUndefined();
    });

    it('refuses a join without a request id or with a bad priority', () => {
      const q = queue();
      expect(() => q.join({ requestId: '', sessionWorkflowId: 'x' }, s(0))).toThrow(QueueRejection);
      expect(q.checkJoin({ requestId: 'a', sessionWorkflowId: 'x', priority: 1.5 })).toMatch(/priority/);
    });
  });

  describe('order and skills', () => {
    it('serves higher priority first, then arrival order', () => {
      const q = queue();
      join(q, 'early', s(0));
      join(q, 'vip', s(5), { priority: 10 });
      join(q, 'late', s(6));
      expect(q.ordered().map((e) => e.ticket)).toEqual(['vip', 'early', 'late']);
      signIn(q, 'alice', s(10));
      expect(offerOf(q, 'vip')?.agentIds).toEqual(['alice']);
      expect(q.position('early', s(10))).toMatchObject({ position: 2, status: 'waiting' });
    });

    it('offers a caller only agents with every required skill at the level asked, and skips to a caller who fits', () => {
      const q = queue();
      signIn(q, 'basic', s(0), { en: 1 });
      join(q, 'expert-needed', s(1), { skills: { en: 3, billing: 1 } });
      const { effects } = join(q, 'any', s(2), { skills: { en: 1 } });
      // The head needs a skill nobody free has; the next caller gets the agent rather than wait behind it.
      expect(offers(effects)).toEqual([{ ticket: 'any', offerId: expect.any(String), agents: ['basic'] }]);
      const more = q.changeAgent(
        { op: 'sign-in', agentId: 'expert', address: '+15550002000', skills: { en: 5, billing: 2 } },
        s(3),
      );
      expect(offers(more.effects)).toEqual([
        { ticket: 'expert-needed', offerId: expect.any(String), agents: ['expert'] },
      ]);
    });

    it('moves a caller up when an operator raises their priority', () => {
      const q = queue();
      join(q, 'a', s(0));
      join(q, 'b', s(1));
      expect(q.changePriority({ ticket: 'b', priority: 5 }, s(2)).position).toMatchObject({ position: 1 });
      expect(() => q.changePriority({ ticket: 'nobody', priority: 1 }, s(2))).toThrow(/no ticket/);
    });
  });

  describe('strategies', () => {
    function threeAgents(strategy: QueueConfig['strategy']): QueueCore {
      const q = queue({ strategy, wrapUpSeconds: 0 });
      signIn(q, 'a', s(0));
      signIn(q, 'b', s(1));
      signIn(q, 'c', s(2));
      return q;
    }
    /** Each caller answered and hung up at once; returns who took each. */
    function serve(q: QueueCore, callers: string[], start: number): string[] {
      return callers.map((ticket, i) => {
        const { effects } = join(q, ticket, start + i * 10_000);
        const [offer] = offers(effects);
        const agentId = offer.agents[0];
        q.offerResult({ ticket, offerId: offer.offerId, outcome: 'answered', agentId }, start + i * 10_000 + 1000);
        q.agentCallEnded({ ticket, offerId: offer.offerId, agentId }, start + i * 10_000 + 2000);
        return agentId;
      });
    }

    it('longest-idle offers the agent free the longest', () => {
      const q = threeAgents('longest-idle');
      expect(serve(q, ['x', 'y', 'z', 'w'], s(10))).toEqual(['a', 'b', 'c', 'a']);
      // b goes on break and comes back: now the freshest, so served last.
      q.changeAgent({ op: 'set-state', agentId: 'b', state: 'break' }, s(100));
      q.changeAgent({ op: 'set-state', agentId: 'b', state: 'available' }, s(101));
      expect(serve(q, ['p', 'q', 'r'], s(200))).toEqual(['c', 'a', 'b']);
    });

    it('round-robin goes round the agents in sign-in order, whoever was idle longest', () => {
      const q = threeAgents('round-robin');
      q.changeAgent({ op: 'set-state', agentId: 'a', state: 'break' }, s(5));
      q.changeAgent({ op: 'set-state', agentId: 'a', state: 'available' }, s(6));
      // Longest-idle would start at b (a just came back); round-robin starts at the top of the list.
      expect(serve(q, ['x', 'y', 'z', 'w', 'v'], s(10))).toEqual(['a', 'b', 'c', 'a', 'b']);
    });

    it('ring-all offers every eligible free agent at once; the first to answer takes the call, the others are free', () => {
      const q = threeAgents('ring-all');
      const { effects } = join(q, 'x', s(10));
      const [offer] = offers(effects);
      expect(offer.agents.sort()).toEqual(['a', 'b', 'c']);
      const next = q.offerResult({ ticket: 'x', offerId: offer.offerId, outcome: 'answered', agentId: 'b' }, s(12));
      expect(agentState(q, 'b')).toMatchObject({ state: 'busy', call: { ticket: 'x' } });
      expect(['a', 'c'].map((id) => agentState(q, id).state)).toEqual(['available', 'available']);
      // Released agents keep their idle time: a was signed in first, so is still the longest idle.
      expect(agentState(q, 'a').since).toBe(s(0));
      expect(offers(next)).toEqual([]);
    });
  });

  it('never offers one agent to two callers at once, and offers the second caller once the agent is free', () => {
    const q = queue({ wrapUpSeconds: 0 });
    signIn(q, 'alice', s(0));
    const one = join(q, 'c1', s(1));
    const two = join(q, 'c2', s(1));
    expect(offers([...one.effects, ...two.effects])).toEqual([
      { ticket: 'c1', offerId: expect.any(String), agents: ['alice'] },
    ]);
    const [offer] = offers(one.effects);
    q.offerResult({ ticket: 'c1', offerId: offer.offerId, outcome: 'answered', agentId: 'alice' }, s(3));
    expect(offerOf(q, 'c2')).toBeUndefined();
    const ended = q.agentCallEnded({ ticket: 'c1', offerId: offer.offerId, agentId: 'alice' }, s(60));
    expect(offers(ended)).toEqual([{ ticket: 'c2', offerId: expect.any(String), agents: ['alice'] }]);
  });

  describe('misses', () => {
    it('a miss marks the agent, keeps the caller at the head and offers them to the next agent', () => {
      const q = queue();
      signIn(q, 'alice', s(0));
      signIn(q, 'bob', s(1));
      const first = join(q, 'head', s(2));
      join(q, 'second', s(3));
      const [toAlice] = offers(first.effects);
      expect(toAlice.agents).toEqual(['alice']);
      expect(offerOf(q, 'second')?.agentIds).toEqual(['bob']);
      // bob takes 'second'; alice misses 'head'.
      q.offerResult(
        { ticket: 'second', offerId: offerOf(q, 'second')!.offerId, outcome: 'answered', agentId: 'bob' },
        s(4),
      );
      const late = join(q, 'third', s(5));
      expect(offers(late.effects)).toEqual([]);
      const after = q.offerResult({ ticket: 'head', offerId: toAlice.offerId, outcome: 'no-answer' }, s(17));

      expect(agentState(q, 'alice')).toMatchObject({ consecutiveMisses: 1, state: 'offered' });
      expect(q.state.counters.missedOffers).toBe(1);
      expect(q.position('head', s(17))).toMatchObject({ position: 1 });
      // Only alice is free: the head is offered again (to her) before 'third', who came later.
      expect(offers(after)).toEqual([{ ticket: 'head', offerId: expect.any(String), agents: ['alice'] }]);
      expect(offers(after)[0].offerId).not.toBe(toAlice.offerId);
    });

    it('offers the caller to agents who have not missed them before those who have', () => {
      const q = queue({ strategy: 'ring-all' });
      signIn(q, 'a', s(0));
      signIn(q, 'b', s(1));
      signIn(q, 'c', s(2));
      const [offer] = offers(join(q, 'c1', s(3)).effects);
      // a and b let it ring; c's phone was busy, which is not a miss.
      const after = q.offerResult(
        { ticket: 'c1', offerId: offer.offerId, outcome: 'no-answer', agentIds: ['a', 'b'] },
        s(18),
      );
      expect(offers(after)[0].agents).toEqual(['c']);
      expect(['a', 'b', 'c'].map((id) => agentState(q, id).consecutiveMisses)).toEqual([1, 1, 0]);
    });

    it('puts an agent on break after the configured number of consecutive misses; an answer resets the count', () => {
      const q = queue({ maxConsecutiveMisses: 2, wrapUpSeconds: 0 });
      signIn(q, 'alice', s(0));
      let [offer] = offers(join(q, 'c1', s(1)).effects);
      [offer] = offers(q.offerResult({ ticket: 'c1', offerId: offer.offerId, outcome: 'no-answer' }, s(16)));
      q.offerResult({ ticket: 'c1', offerId: offer.offerId, outcome: 'answered', agentId: 'alice' }, s(20));
      expect(agentState(q, 'alice').consecutiveMisses).toBe(0);
      q.agentCallEnded({ ticket: 'c1', offerId: offer.offerId, agentId: 'alice' }, s(30));

      [offer] = offers(join(q, 'c2', s(31)).effects);
      [offer] = offers(q.offerResult({ ticket: 'c2', offerId: offer.offerId, outcome: 'no-answer' }, s(46)));
      const after = q.offerResult({ ticket: 'c2', offerId: offer.offerId, outcome: 'no-answer' }, s(61));
      expect(agentState(q, 'alice')).toMatchObject({ state: 'break', breakReason: 'missed-offers' });
      expect(offers(after)).toEqual([]);
      expect(q.position('c2', s(61))).toMatchObject({ position: 1, status: 'waiting' });
      // Back from break: offered the caller still at the head.
      const back = q.changeAgent({ op: 'set-state', agentId: 'alice', state: 'available' }, s(90));
      expect(offers(back.effects)[0]).toMatchObject({ ticket: 'c2', agents: ['alice'] });
    });

    it('ignores a repeated or late report of an offer', () => {
      const q = queue();
      signIn(q, 'alice', s(0));
      const [offer] = offers(join(q, 'c1', s(1)).effects);
      const [second] = offers(q.offerResult({ ticket: 'c1', offerId: offer.offerId, outcome: 'no-answer' }, s(16)));
      q.offerResult({ ticket: 'c1', offerId: offer.offerId, outcome: 'no-answer' }, s(17));
      expect(agentState(q, 'alice')).toMatchObject({ state: 'offered', consecutiveMisses: 1 });
      expect(offerOf(q, 'c1')?.offerId).toBe(second.offerId);
    });
  });

  describe('hang-ups', () => {
    it('a caller who hangs up while an agent rings frees the agent without a mark and counts as abandoned', () => {
      const q = queue();
      signIn(q, 'alice', s(0));
      const [offer] = offers(join(q, 'c1', s(5)).effects);
      const after = join(q, 'c2', s(6));
      expect(offers(after.effects)).toEqual([]);
      const next = q.offerResult({ ticket: 'c1', offerId: offer.offerId, outcome: 'caller-gone' }, s(8));
      // Freed with her idle time as before the offer (then offered c2).
      expect(agentState(q, 'alice')).toMatchObject({ consecutiveMisses: 0, offer: { ticket: 'c2', idleSince: s(0) } });
      expect(offers(next)).toEqual([{ ticket: 'c2', offerId: expect.any(String), agents: ['alice'] }]);
      expect(q.state.counters).toMatchObject({ abandoned: 1, answered: 0 });
      expect(q.position('c1', s(8)).status).toBe('gone');
    });

    it('a leave while ringing does the same, and a notice the session cannot get any more removes the caller', () => {
      const q = queue();
      signIn(q, 'alice', s(0));
      join(q, 'c1', s(1));
      q.leave({ ticket: 'c1', reason: 'hangup' }, s(2));
      expect(agentState(q, 'alice').state).toBe('available');
      const [offer] = offers(join(q, 'c2', s(3)).effects);
      const notice = notices(join(q, 'c3', s(3)).effects);
      expect(notice).toEqual([]);
      q.noticeUndeliverable(
        { kind: 'offer', queue: 'support', ticket: 'c2', offerId: offer.offerId, agents: [], ringTimeoutSeconds: 15 },
        s(4),
      );
      expect(q.state.entries.map((e) => e.ticket)).toEqual(['c3']);
      expect(offerOf(q, 'c3')?.agentIds).toEqual(['alice']);
      expect(q.state.counters.abandoned).toBe(2);
    });

    it('an agent who hangs up ends the call: wrap-up, then available on the timer', () => {
      const q = queue({ wrapUpSeconds: 10 });
      signIn(q, 'alice', s(0));
      const [offer] = offers(join(q, 'c1', s(0)).effects);
      q.offerResult({ ticket: 'c1', offerId: offer.offerId, outcome: 'answered', agentId: 'alice' }, s(5));
      join(q, 'c2', s(6));
      q.agentCallEnded({ ticket: 'c1', offerId: offer.offerId, agentId: 'alice', endedBy: 'agent' }, s(65));
      expect(agentState(q, 'alice')).toMatchObject({ state: 'wrap-up', wrapUpUntil: s(75), callsHandled: 1 });
      expect(q.nextDeadline()).toBe(s(75));
      expect(offers(q.tick(s(74)))).toEqual([]);
      expect(offers(q.tick(s(75)))).toEqual([{ ticket: 'c2', offerId: expect.any(String), agents: ['alice'] }]);
      // A repeated call-end report changes nothing.
      q.agentCallEnded({ ticket: 'c1', offerId: offer.offerId, agentId: 'alice' }, s(76));
      expect(agentState(q, 'alice')).toMatchObject({ state: 'offered', callsHandled: 1 });
    });

    it('leaves the session time to report a miss: it rings the agent for less than the ring time, the queue waits longer', () => {
      const q = queue({ agentRingTimeoutSeconds: 15 });
      signIn(q, 'alice', s(0));
      const [offer] = notices(join(q, 'c1', s(0)).effects);
      expect(offer).toMatchObject({ kind: 'offer', ringTimeoutSeconds: 15 });
      const rings = agentRingSeconds(15);
      expect(rings).toBe(13);
      // The queue expires the offer only after the ring time and its grace: well after the session's report.
      expect(q.nextDeadline()).toBe(s(15 + OFFER_REPORT_GRACE_SECONDS));
      expect(s(rings)).toBeLessThan(q.nextDeadline()!);
      expect(agentRingSeconds(2)).toBe(1);
    });

    it('an offer nobody reports expires: the agent is freed unmarked and the caller is told and keeps their place', () => {
      const q = queue({ agentRingTimeoutSeconds: 15 });
      signIn(q, 'alice', s(0));
      const [offer] = offers(join(q, 'c1', s(0)).effects);
      join(q, 'c2', s(1));
      expect(q.nextDeadline()).toBe(s(25));
      const expired = q.tick(s(25));
      expect(notices(expired)[0]).toMatchObject({ kind: 'offer-withdrawn', ticket: 'c1', offerId: offer.offerId });
      expect(offers(expired)).toEqual([{ ticket: 'c1', offerId: expect.any(String), agents: ['alice'] }]);
      expect(agentState(q, 'alice').consecutiveMisses).toBe(0);
      // The second unreported offer drops the caller (their session is presumably gone).
      const dropped = q.tick(s(50));
      expect(notices(dropped)[0]).toMatchObject({ kind: 'removed', ticket: 'c1' });
      expect(offers(dropped)[0]).toMatchObject({ ticket: 'c2' });
    });
  });

  describe('overflow', () => {
    it('turns a caller away when the queue is full, naming the overflow target', () => {
      const q = queue({ maxSize: 2, overflow: { kind: 'voicemail' } });
      join(q, 'a', s(0));
      join(q, 'b', s(1));
      expect(join(q, 'c', s(2)).result).toEqual({
        kind: 'overflow',
        queue: 'support',
        reason: 'full',
        target: { kind: 'voicemail' },
      });
      expect(q.state.entries).toHaveLength(2);
      expect(q.statistics(s(2))).toMatchObject({ offered: 2, overflowed: 1 });
    });

    it('sends a caller to the overflow target after the max wait, but not while an agent rings for them', () => {
      const q = queue({ maxWaitSeconds: 60, overflow: { kind: 'queue', queue: 'sales' }, agentRingTimeoutSeconds: 15 });
      join(q, 'a', s(0));
      join(q, 'b', s(30));
      expect(q.nextDeadline()).toBe(s(60));
      const first = q.tick(s(60));
      expect(notices(first)).toEqual([
        {
          kind: 'overflow',
          queue: 'support',
          ticket: 'a',
          reason: 'max-wait',
          target: { kind: 'queue', queue: 'sales' },
        },
      ]);
      signIn(q, 'alice', s(80));
      expect(offerOf(q, 'b')).toBeDefined();
      expect(q.tick(s(90))).toEqual([]);
      const missed = q.offerResult({ ticket: 'b', offerId: offerOf(q, 'b')!.offerId, outcome: 'no-answer' }, s(95));
      // Past the max wait once the offer is over: overflow, not another offer.
      expect(notices(missed)).toEqual([expect.objectContaining({ kind: 'overflow', ticket: 'b' })]);
      expect(q.statistics(s(95))).toMatchObject({ overflowed: 2, waiting: 0 });
    });
  });

  describe('callbacks', () => {
    it('keep their place: a callback behind a caller waits, ahead of later callers it starts a session reserving the agent', () => {
      const q = queue({ wrapUpSeconds: 0 });
      join(q, 'first', s(0));
      join(q, 'cb', s(10));
      join(q, 'later', s(20));
      q.requestCallback(
        { ticket: 'cb', callback: { provider: 'telnyx', to: '+15557770001', from: '+15550001000' } },
        s(30),
      );
      expect(q.ordered().map((e) => e.ticket)).toEqual(['first', 'cb', 'later']);
      expect(q.position('cb', s(30))).toMatchObject({ position: 2, status: 'callback-scheduled' });

      signIn(q, 'alice', s(40));
      const [offer] = offers(q.tick(s(40)));
      expect(offer).toBeUndefined();
      expect(offerOf(q, 'first')?.agentIds).toEqual(['alice']);
      const firstOffer = offerOf(q, 'first')!.offerId;
      q.offerResult({ ticket: 'first', offerId: firstOffer, outcome: 'answered', agentId: 'alice' }, s(41));
      const start = callbackStart(q.agentCallEnded({ ticket: 'first', offerId: firstOffer, agentId: 'alice' }, s(100)));
      expect(start).toMatchObject({
        kind: 'startCallback',
        ticket: 'cb',
        workflowId: 'call:telnyx:out:queue-support-cb1',
        callback: { provider: 'telnyx', to: '+15557770001', from: '+15550001000' },
        flow: 'queueCallback',
        flowArgs: {
          queue: 'support',
          ticket: 'cb',
          agentId: 'alice',
          agentAddress: 'sip:alice@agents.example',
          attempt: 1,
        },
      });
      expect(agentState(q, 'alice').state).toBe('offered');
      expect(offerOf(q, 'later')).toBeUndefined();
      expect(q.state.counters.callbacksRequested).toBe(1);
    });

    it('retries a customer who did not answer after a growing delay, in place, and gives up after the attempts', () => {
      const q = queue({ callbackMaxAttempts: 2, callbackRetryDelaySeconds: 60, wrapUpSeconds: 0 });
      join(q, 'cb', s(0));
      q.requestCallback(
        { ticket: 'cb', callback: { provider: 'jambonz', to: '+15557770001', from: '+15550001000' } },
        s(1),
      );
      const attempt1 = callbackStart(
        q.changeAgent({ op: 'sign-in', agentId: 'alice', address: '+15550002000' }, s(2)).effects,
      );
      q.offerResult({ ticket: 'cb', offerId: attempt1.offerId, outcome: 'customer-no-answer' }, s(40));
      expect(agentState(q, 'alice').state).toBe('available');
      expect(q.nextDeadline()).toBe(s(100));
      join(q, 'newcomer', s(50));
      // The agent is free meanwhile: the caller behind the waiting callback is served.
      expect(offerOf(q, 'newcomer')?.agentIds).toEqual(['alice']);
      q.offerResult({ ticket: 'newcomer', offerId: offerOf(q, 'newcomer')!.offerId, outcome: 'caller-gone' }, s(55));
      const attempt2 = callbackStart(q.tick(s(100)));
      expect(attempt2).toMatchObject({ flowArgs: { attempt: 2 }, workflowId: 'call:jambonz:out:queue-support-cb2' });
      // No report before the callback offer's deadline counts as another attempt: the last one here.
      q.tick(s(100 + 120));
      expect(q.state.entries).toEqual([]);
      expect(q.state.counters).toMatchObject({ callbacksFailed: 1, callbacksAnswered: 0 });
    });

    it('a callback answered counts as answered and as a callback answered', () => {
      const q = queue();
      join(q, 'cb', s(0));
      q.requestCallback(
        { ticket: 'cb', callback: { provider: 'telnyx', to: '+15557770001', from: '+15550001000' } },
        s(5),
      );
      const effect = callbackStart(
        q.changeAgent({ op: 'sign-in', agentId: 'alice', address: '+15550002000' }, s(600)).effects,
      );
      // Callbacks are not sent to overflow by the max wait.
      expect(q.state.entries).toHaveLength(1);
      q.offerResult({ ticket: 'cb', offerId: effect.offerId, outcome: 'answered', agentId: 'alice' }, s(630));
      expect(q.state.counters).toMatchObject({ answered: 1, callbacksAnswered: 1 });
    });
  });

  describe('agents', () => {
    it('a sign-out or break asked for during a call applies when the call ends', () => {
      const q = queue({ wrapUpSeconds: 10 });
      signIn(q, 'alice', s(0));
      const [offer] = offers(join(q, 'c1', s(0)).effects);
      q.changeAgent({ op: 'sign-out', agentId: 'alice' }, s(1));
      expect(agentState(q, 'alice')).toMatchObject({ state: 'offered', pendingState: 'offline' });
      q.offerResult({ ticket: 'c1', offerId: offer.offerId, outcome: 'answered', agentId: 'alice' }, s(2));
      q.agentCallEnded({ ticket: 'c1', offerId: offer.offerId, agentId: 'alice' }, s(30));
      expect(agentState(q, 'alice').state).toBe('offline');
      expect(offers(join(q, 'c2', s(31)).effects)).toEqual([]);
    });

    it('refuses changes to an unknown agent or a bad address', () => {
      const q = queue();
      expect(q.checkAgentChange({ op: 'sign-out', agentId: 'ghost' })).toMatch(/no agent ghost/);
      expect(() => q.changeAgent({ op: 'sign-in', agentId: 'x', address: 'not a number' }, s(0))).toThrow(/address/);
    });
  });

  describe('statistics', () => {
    it('computes ASA, AHT, the service level over the rolling window and the longest wait now', () => {
      const q = queue({ serviceLevelSeconds: 20, statsWindowSeconds: 3600, wrapUpSeconds: 0 });
      signIn(q, 'alice', s(0));
      const answerAfter = (ticket: string, arrive: number, wait: number, handle: number) => {
        join(q, ticket, arrive);
        const offerId = offerOf(q, ticket)!.offerId;
        q.offerResult({ ticket, offerId, outcome: 'answered', agentId: 'alice' }, arrive + wait * 1000);
        q.agentCallEnded({ ticket, offerId, agentId: 'alice' }, arrive + (wait + handle) * 1000);
      };
      answerAfter('a', s(0), 10, 100); // within 20 s
      answerAfter('b', s(200), 30, 200); // not within
      // Abandoned after 5 s (not held against the service level) and after 40 s (held against it).
      q.changeAgent({ op: 'set-state', agentId: 'alice', state: 'break' }, s(500));
      join(q, 'quick', s(500));
      q.leave({ ticket: 'quick', reason: 'hangup' }, s(505));
      join(q, 'slow', s(510));
      q.leave({ ticket: 'slow', reason: 'abandoned' }, s(550));
      join(q, 'waiting', s(600));

      const stats = q.statistics(s(700));
      expect(stats).toMatchObject({
        offered: 5,
        answered: 2,
        abandoned: 2,
        averageSpeedOfAnswerSeconds: 20,
        averageHandleSeconds: 150,
        windowAnswered: 2,
        windowAbandoned: 2,
        windowAverageSpeedOfAnswerSeconds: 20,
        windowAverageHandleSeconds: 150,
        // 1 answered within 20 s, of 2 answered + 1 abandoned after 20 s.
        serviceLevel: 1 / 3,
        waiting: 1,
        longestWaitSeconds: 100,
      });

      // An hour later the early calls have left the window; the totals stay.
      const later = q.statistics(s(3600 + 300));
      expect(later).toMatchObject({ answered: 2, windowAnswered: 0, windowAbandoned: 2, serviceLevel: 0 });
      expect(later.windowAverageSpeedOfAnswerSeconds).toBeUndefined();
    });

    it('estimates each caller’s wait from the agents’ calls in progress and those ahead of them', () => {
      const q = queue({ defaultHandleSeconds: 100, wrapUpSeconds: 20 });
      signIn(q, 'alice', s(0));
      signIn(q, 'bob', s(0));
      for (const [ticket, at] of [
        ['x', 0],
        ['y', 0],
      ] as const) {
        join(q, ticket, s(at));
        const offerId = offerOf(q, ticket)!.offerId;
        q.offerResult({ ticket, offerId, outcome: 'answered', agentId: offerOf(q, ticket)!.agentIds[0] }, s(0));
      }
      join(q, 'c1', s(10));
      join(q, 'c2', s(11));
      join(q, 'c3', s(12));
      // Both agents free at 100 + 20 = 120 s; c1 and c2 take them, c3 waits for one more cycle (240 s).
      expect(q.position('c1', s(30)).estimatedWaitSeconds).toBe(90);
      expect(q.position('c2', s(30)).estimatedWaitSeconds).toBe(90);
      expect(q.position('c3', s(30)).estimatedWaitSeconds).toBe(210);
      // Recomputed as time passes, per caller, not a queue average.
      expect(q.position('c3', s(100)).estimatedWaitSeconds).toBe(140);
    });
  });

  it('carries its whole state across continue-as-new as plain JSON', () => {
    const q = queue();
    signIn(q, 'alice', s(0), { en: 3 });
    join(q, 'c1', s(1));
    join(q, 'c2', s(2), { priority: 2 });
    const carried = JSON.parse(JSON.stringify(q.state)) as unknown;
    const next = QueueCore.start('support', {}, carried);
    expect(next.state.runs).toBe(2);
    expect(next.view(s(3))).toEqual({ ...q.view(s(3)), runs: 2 });
    expect(next.nextDeadline()).toBe(q.nextDeadline());
  });
});
